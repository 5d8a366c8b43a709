using System.Net;
using AgentFunctions.Tests.Support;
using AgentJobs.Dashboard;

namespace AgentFunctions.Tests;

/// <summary>
/// <c>GET /api/dashboard</c> through the Functions app's trigger in-process: the page, its files, their headers,
/// and the function key passed on. (The page itself is driven in a browser by AgentFunctions.Browser.Tests.)
/// </summary>
public sealed class DashboardTests(FunctionsApiHost host) : IClassFixture<FunctionsApiHost>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    Task<HttpResponseMessage> GetAsync(string path, string? ifNoneMatch = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }

        return host.SendAsync(request, Token);
    }

    [Fact]
    public async Task The_page_is_served_with_its_headers_and_passes_the_function_key_to_its_files()
    {
        using var response = await GetAsync("/api/dashboard?code=abc%2B1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal("no-cache", response.Headers.CacheControl!.ToString());
        Assert.NotNull(response.Headers.ETag);
        Assert.Equal(AgentJobsDashboard.ContentSecurityPolicy, Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("no-referrer", Assert.Single(response.Headers.GetValues("Referrer-Policy")));

        var html = await response.Content.ReadAsStringAsync(Token);
        Assert.Contains("href=\"/api/dashboard/dashboard.css?code=abc%2B1\"", html, StringComparison.Ordinal);
        Assert.Contains("src=\"/api/dashboard/dashboard.js?code=abc%2B1\"", html, StringComparison.Ordinal);
        Assert.Contains("<meta name=\"agent-jobs-api\" content=\"/api/agent-jobs\">", html, StringComparison.Ordinal);
        Assert.DoesNotContain("{{", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_with_markup_is_escaped_into_the_page()
    {
        using var response = await GetAsync("/api/dashboard?code=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E");
        var html = await response.Content.ReadAsStringAsync(Token);
        Assert.DoesNotContain("<script>alert", html, StringComparison.Ordinal);
        Assert.Contains("dashboard.js?code=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E\"", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dashboard.js", "text/javascript; charset=utf-8")]
    [InlineData("dashboard.css", "text/css; charset=utf-8")]
    [InlineData("index.html", "text/html; charset=utf-8")]
    public async Task Files_have_their_content_type_and_an_etag_that_answers_304(string file, string contentType)
    {
        using var response = await GetAsync("/api/dashboard/" + file);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(contentType, response.Content.Headers.ContentType!.ToString());
        Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
        var etag = response.Headers.ETag!.ToString();

        using var again = await GetAsync("/api/dashboard/" + file, etag);
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);
        Assert.Empty(await again.Content.ReadAsByteArrayAsync(Token));
    }

    [Theory]
    [InlineData("secrets.txt")]
    [InlineData("AgentJobs.dll")]
    [InlineData("..%2Fhost.json")]
    public async Task Other_names_are_404_problem_details(string file)
    {
        using var response = await GetAsync("/api/dashboard/" + file);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
    }
}
