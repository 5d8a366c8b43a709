using System.Net;
using AgentFunctions.Tests.Support;
using AgentJobs.Dashboard;

namespace AgentFunctions.Tests;

/// <summary>
/// <c>GET /api/dashboard</c> under a real Functions host with function keys enforced: the page, its files, their
/// headers, and the key passed on (the host reads <c>x-functions-key</c> before <c>code</c>, so the page's own
/// <c>code</c> is only echoed here). The page in a browser: <see cref="FunctionsDashboardBrowserTests"/>.
/// </summary>
public sealed class DashboardTests(FunctionsApp host)
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

    [Theory]
    [InlineData("api/dashboard")]
    [InlineData("api/agent-jobs")]
    [InlineData("api/agent-sessions")]
    [InlineData("api/agent-jobs/x/events")]
    public async Task Without_a_function_key_the_host_answers_401(string path)
    {
        using var response = await host.SendWithoutKeyAsync(new HttpRequestMessage(HttpMethod.Get, path), Token);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);

        using var wrong = new HttpRequestMessage(HttpMethod.Get, path + "?code=not-the-key");
        using var refused = await host.SendWithoutKeyAsync(wrong, Token);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task Another_sites_page_gets_no_CORS_grant_and_its_simple_POST_changes_nothing()
    {
        // A page on another origin can POST JSON only after a preflight, which the host answers without any CORS grant
        // (func start and the infra templates configure no allowed origin), so the browser never sends the POST or lets
        // the page read an answer.
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "api/agent-jobs");
        preflight.Headers.Add("Origin", "https://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type,x-functions-key");
        using var answer = await host.SendWithoutKeyAsync(preflight, Token);
        Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"), $"preflight granted: {answer}");

        // What a page may send without asking (mode: "no-cors", a Blob or text body), even with the key: refused 415.
        using var simple = new HttpRequestMessage(HttpMethod.Post, "api/agent-jobs") { Content = new ByteArrayContent("{\"prompt\":\"hi\"}"u8.ToArray()) };
        simple.Headers.Add("Origin", "https://evil.example");
        using var refused = await host.SendAsync(simple, Token);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, refused.StatusCode);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task The_key_in_the_code_parameter_is_accepted_as_the_page_sends_it()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/agent-jobs?top=1&code={Uri.EscapeDataString(host.FunctionKey!)}");
        using var response = await host.SendWithoutKeyAsync(request, Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
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
