using System.Text;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// A keyless <c>serve</c> (loopback only) answers only requests that name it by a loopback Host and, when they carry an
/// Origin, come from its own origin: what keeps other sites' pages and DNS-rebound names out (403 problem details).
/// Over raw HTTP to 127.0.0.1, so the exact Host and Origin headers go out. The browser's side of the same rules is
/// in tests/AgentFunctions.Browser.Tests (CrossOriginTests).
/// </summary>
public sealed class CrossOriginTests(ServeProcessFixture fixture) : IClassFixture<ServeProcessFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    int Port => fixture.Serve.BaseAddress.Port;

    byte[] StartJob(string marker, params string[] headers) => RawHttp.WithBody(
        "POST /api/agent-jobs HTTP/1.1", "application/json", Encoding.UTF8.GetBytes($"{{\"prompt\": \"Hello, tell me a joke {marker}\"}}"), headers);

    [Theory]
    [InlineData("attacker.example")]
    [InlineData("attacker.example:{port}")]
    [InlineData("127.0.0.1.nip.io:{port}")]
    [InlineData("localhost.attacker.example")]
    [InlineData("10.0.0.1:{port}")]
    [InlineData("0.0.0.0:{port}")]
    public async Task A_host_that_is_not_a_loopback_name_gets_403_problem_and_starts_nothing(string host)
    {
        host = host.Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var marker = Guid.NewGuid().ToString("N");

        foreach (var request in new[] { StartJob(marker), RawHttp.Request("GET /api/agent-jobs HTTP/1.1"), RawHttp.Request("GET / HTTP/1.1") })
        {
            var response = await RawHttp.SendAsync(Port, RawHttp.WithHost(request, host), Token);

            AssertForbidden(response, "Host");
        }

        await AssertNoJobAsync(marker);
    }

    [Theory]
    [InlineData("https://evil.example")]
    [InlineData("http://evil.example:{port}")]
    [InlineData("null")]
    [InlineData("http://127.0.0.1:{other}")]
    [InlineData("http://localhost:{other}")]
    [InlineData("https://127.0.0.1:{port}")]
    [InlineData("http://127.0.0.1.nip.io:{port}")]
    public async Task An_origin_other_than_the_servers_own_gets_403_problem_and_starts_nothing(string origin)
    {
        origin = origin
            .Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{other}", (Port == 65535 ? Port - 1 : Port + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var marker = Guid.NewGuid().ToString("N");

        foreach (var request in new[]
        {
            StartJob(marker, $"Origin: {origin}"),
            RawHttp.Request("GET /api/agent-jobs HTTP/1.1", [$"Origin: {origin}"]),
            RawHttp.WithBody("POST /mcp HTTP/1.1", "application/json",
                """{"jsonrpc":"2.0","id":1,"method":"tools/list"}"""u8.ToArray(), $"Origin: {origin}", "Accept: application/json, text/event-stream"),
        })
        {
            AssertForbidden(await RawHttp.SendAsync(Port, request, Token), "origin");
        }

        await AssertNoJobAsync(marker);
    }

    [Theory]
    [InlineData("127.0.0.1:{port}", null)]
    [InlineData("localhost:{port}", "http://localhost:{port}")]
    [InlineData("127.0.0.1:{port}", "http://127.0.0.1:{port}")]
    [InlineData("[::1]:{port}", "http://[::1]:{port}")]
    [InlineData("LOCALHOST", null)]
    [InlineData("127.0.0.2:{port}", "http://127.0.0.1:{port}")]
    public async Task A_loopback_host_and_the_servers_own_origin_or_none_are_served(string host, string? origin)
    {
        string Fill(string text) => text.Replace("{port}", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var marker = Guid.NewGuid().ToString("N");
        var request = RawHttp.WithHost(StartJob(marker, origin is null ? [] : [$"Origin: {Fill(origin)}"]), Fill(host));

        var response = await RawHttp.SendAsync(Port, request, Token);

        Assert.True(response.Status == 202, $"{host} / {origin}: {response.Status} {response.Text}");
    }

    static void AssertForbidden(RawHttp.Response response, string names)
    {
        Assert.True(response.Status == 403, $"expected 403, got {response.Status} {response.Text}");
        Assert.StartsWith("application/problem+json", response.ContentType ?? "(none)", StringComparison.Ordinal);
        using var problem = JsonDocument.Parse(response.Body);
        Assert.Equal(403, problem.RootElement.GetProperty("status").GetInt32());
        Assert.Contains(names, problem.RootElement.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
    }

    async Task AssertNoJobAsync(string marker)
    {
        using var http = new HttpClient { BaseAddress = fixture.Serve.BaseAddress };
        var list = await http.GetStringAsync("api/agent-jobs?top=200", Token);
        Assert.DoesNotContain(marker, list, StringComparison.Ordinal);
    }
}
