using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// Steering a busy session (<c>POST …/turns</c> with <c>onBusy</c>) against <c>serve</c>, on both protocols: a turn held
/// for a tool call's approval is busy for as long as needed; <c>reject</c> answers 409 and queues nothing;
/// <c>interrupt</c> cancels it (its tool call answered, so the thread stays usable) and runs the new turn next, ahead
/// of a turn queued before it.
/// </summary>
public sealed class SessionSteeringTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("classic")]
    [InlineData("foundry")]
    public async Task A_busy_session_rejects_or_is_interrupted_and_runs_the_interrupting_turn_next(string protocol)
    {
        await using var serve = await ServeProcess.StartAsync(TimeSpan.FromSeconds(40), "--protocol", protocol, "--simulated-run-ms", "100");
        using var http = new HttpClient { BaseAddress = serve.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var token = TestContext.Current.CancellationToken;
        using var started = await Post(http, "api/agent-sessions", """{"tools": ["calculate"], "approval": {"tools": ["calculate"]}}""");
        Assert.Equal(HttpStatusCode.Created, started.StatusCode);
        var id = (await started.Content.ReadFromJsonAsync<JsonElement>(token)).GetProperty("id").GetString()!;

        using (var first = await Post(http, $"api/agent-sessions/{id}/turns", """{"prompt": "Please use calculate with {\"expression\": \"6 * 7\"}"}"""))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        await WaitAsync(http, $"api/agent-sessions/{id}/turns/1", t => t.GetProperty("progress") is { ValueKind: JsonValueKind.Object } p
            && p.TryGetProperty("pendingApprovals", out var held) && held.ValueKind == JsonValueKind.Array && held.GetArrayLength() > 0, "turn 1 held for approval");

        using (var rejected = await Post(http, $"api/agent-sessions/{id}/turns", """{"prompt": "not now", "onBusy": "reject"}"""))
        {
            Assert.Equal(HttpStatusCode.Conflict, rejected.StatusCode);
            Assert.Equal("onBusy", (await rejected.Content.ReadFromJsonAsync<JsonElement>(token)).GetProperty("field").GetString());
        }

        using (var bad = await Post(http, $"api/agent-sessions/{id}/turns", """{"prompt": "x", "onBusy": "shout"}"""))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        using (var queued = await Post(http, $"api/agent-sessions/{id}/turns", """{"prompt": "queued before the interrupt: beta"}"""))
        {
            Assert.Equal(HttpStatusCode.Accepted, queued.StatusCode);
        }

        using (var interrupt = await Post(http, $"api/agent-sessions/{id}/turns", """{"prompt": "interrupting: alpha", "onBusy": "interrupt"}"""))
        {
            Assert.Equal(HttpStatusCode.Accepted, interrupt.StatusCode);
        }

        var session = await WaitAsync(http, $"api/agent-sessions/{id}", s => s.GetProperty("turns").GetArrayLength() == 3
            && s.GetProperty("turns").EnumerateArray().All(t => t.TryGetProperty("outcome", out var o) && o.ValueKind == JsonValueKind.String), "three finished turns");
        var turns = session.GetProperty("turns").EnumerateArray().ToList();
        Assert.Equal("Cancelled", turns[0].GetProperty("outcome").GetString());
        Assert.Equal("Completed", turns[1].GetProperty("outcome").GetString());
        Assert.Contains("alpha", turns[1].GetProperty("reply").GetString(), StringComparison.Ordinal); // the interrupting turn ran next
        Assert.Equal("Completed", turns[2].GetProperty("outcome").GetString());
        Assert.Contains("beta", turns[2].GetProperty("reply").GetString(), StringComparison.Ordinal);

        using var ended = await http.DeleteAsync($"api/agent-sessions/{id}", token);
        Assert.Equal(HttpStatusCode.Accepted, ended.StatusCode);
    }

    static Task<HttpResponseMessage> Post(HttpClient http, string path, string json) =>
        http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"), TestContext.Current.CancellationToken);

    static async Task<JsonElement> WaitAsync(HttpClient http, string path, Func<JsonElement, bool> condition, string what)
    {
        var until = DateTime.UtcNow + Timeout;
        JsonElement last = default;
        while (DateTime.UtcNow < until)
        {
            using var response = await http.GetAsync(path, TestContext.Current.CancellationToken);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                last = await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken);
                if (condition(last))
                {
                    return last;
                }
            }

            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"No {what} in {Timeout.TotalSeconds:0} s; last: {last}");
        return last;
    }
}
