using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// <c>serve</c> beyond loopback needs a key (AgentJobs__ServeKey), sent as the Functions app's keys are. Tested by
/// effect over real HTTP: the process listens on 0.0.0.0, but every request goes to 127.0.0.1.
/// </summary>
public class ServeKeyTests
{
    const string Key = "serve-key-4f1c9a7e2b";

    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("*")]
    [InlineData("[::]")]
    public async Task Serve_beyond_loopback_without_a_key_refuses_to_start_with_one_line_naming_the_setting(string host)
    {
        var port = LocalCli.FreePort();

        var output = await LocalCli.RunAsync(Timeout, null, "serve", "--urls", $"http://{host}:{port}");

        Assert.Equal(Cli.ConfigurationError, output.ExitCode);
        var line = Assert.Single(output.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains("AgentJobs__ServeKey", line, StringComparison.Ordinal);
        Assert.Contains("beyond loopback", line, StringComparison.Ordinal);
        Assert.DoesNotContain("Agent jobs API", output.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_0_0_0_0_with_a_key_answers_401_problem_without_it_or_with_a_wrong_one_and_serves_with_it()
    {
        await using var serve = await ServeProcess.StartAsync(Timeout, new Dictionary<string, string> { ["AgentJobs__ServeKey"] = Key }, "0.0.0.0", "--verbose");
        using var http = new HttpClient { BaseAddress = serve.BaseAddress };

        // Without a key, or with a wrong one, in the header or the query: 401 problem details, and nothing runs.
        foreach (var (path, header) in new (string, string?)[]
        {
            ("api/agent-jobs", null),
            ("api/agent-jobs", "wrong"),
            ("api/agent-jobs", Key.ToUpperInvariant()),
            ("api/agent-jobs", Key + "x"),
            ("api/agent-jobs", ""),
            ("api/agent-jobs?code=wrong", null),
            ($"api/agent-jobs?code={Key[..^1]}", null),
            ($"api/agent-jobs?code={Key}", "wrong"), // the header, when sent, is the key that counts (as in Functions)
            ("nope", null),
        })
        {
            using var response = await PostAsync(http, path, header);
            var text = await response.Content.ReadAsStringAsync(Token);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{path} / {header}: {(int)response.StatusCode} {text}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            using var problem = JsonDocument.Parse(text);
            Assert.Equal(401, problem.RootElement.GetProperty("status").GetInt32());
            Assert.Contains("x-functions-key", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain(Key, text, StringComparison.Ordinal);
        }

        // With the key, in the header or as ?code=: the API answers.
        using (var started = await PostAsync(http, "api/agent-jobs", Key))
        {
            var text = await started.Content.ReadAsStringAsync(Token);
            Assert.True(started.StatusCode == HttpStatusCode.Accepted, text);
            Assert.DoesNotContain(Key, text, StringComparison.Ordinal);
            Assert.DoesNotContain(Key, started.Headers.Location?.ToString() ?? "", StringComparison.Ordinal);
            using var links = JsonDocument.Parse(text);
            var id = links.RootElement.GetProperty("id").GetString();
            using var status = await http.GetAsync($"api/agent-jobs/{id}?code={Key}", Token);
            Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        }

        using (var viaQuery = await PostAsync(http, $"api/agent-jobs?code={Uri.EscapeDataString(Key)}", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, viaQuery.StatusCode);
        }

        using (var unknown = await http.GetAsync($"api/agent-jobs/none?code={Key}", Token))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode); // past the key check, the API's own 404
        }

        // Announced, but never logged or printed, even at --verbose.
        await Task.Delay(500, Token);
        Assert.Contains("Key:             required on every request (x-functions-key header or ?code=", serve.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, serve.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_on_loopback_with_a_key_set_requires_it_too()
    {
        await using var serve = await ServeProcess.StartAsync(Timeout, new Dictionary<string, string> { ["AgentJobs__ServeKey"] = Key }, "127.0.0.1");
        using var http = new HttpClient { BaseAddress = serve.BaseAddress };

        using (var without = await http.GetAsync("api/agent-jobs/none", Token))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
            Assert.Equal("application/problem+json", without.Content.Headers.ContentType?.MediaType);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "api/agent-jobs/none");
        request.Headers.Add("x-functions-key", Key);
        using var with = await http.SendAsync(request, Token);
        Assert.Equal(HttpStatusCode.NotFound, with.StatusCode);
    }

    static async Task<HttpResponseMessage> PostAsync(HttpClient http, string path, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new StringContent("{\"prompt\": \"Hello, tell me a joke\"}", Encoding.UTF8, new MediaTypeHeaderValue("application/json")),
        };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("x-functions-key", key);
        }

        return await http.SendAsync(request, Token);
    }
}
