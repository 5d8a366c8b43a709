using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using AgentFunctions.Tests.Support;

namespace AgentFunctions.Tests;

/// <summary>
/// What only a real host shows, on the suites' shared host (<see cref="FunctionsApp"/>, function keys enforced):
/// cancels that arrive before the run exists, and a log with nothing that repeats on every orchestration episode.
/// </summary>
public sealed class HostProcessTests(FunctionsApp app)
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ten_cancels_sent_0_to_50_ms_after_the_202_are_all_honoured()
    {
        // Each cancel goes out 0-50 ms after its 202, while the job is still Pending or creating its agent/thread. The
        // run is one the model never answers, so only the cancel can end the job: a cancel that is lost leaves the job
        // running past the wait below, and none can lose a race with a run that ends by itself on a slow machine.
        var random = new Random(18);
        var jobs = await Task.WhenAll(Enumerable.Range(0, 10).Select(async i =>
        {
            var id = await StartAsync(app, new { prompt = $"{app.LongRunningPrompt} {i}" });
            await Task.Delay(random.Next(0, 51), Token);
            using var cancel = await app.SendAsync(Post($"api/agent-jobs/{id}/cancel", new { reason = "early" }), Token);
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
            return id;
        }));

        foreach (var id in jobs)
        {
            var result = (await WaitForResultAsync(app, id, TimeSpan.FromMinutes(2))).GetProperty("result");
            Assert.Equal("Cancelled", result.GetProperty("outcome").GetString());
            var stop = result.GetProperty("stop");
            Assert.Equal("CancelRequested", stop.GetProperty("reason").GetString());
            Assert.True(stop.GetProperty("honoured").GetBoolean());
            Assert.True(result.GetProperty("agentDeleted").GetBoolean() || result.GetProperty("agentId").ValueKind == JsonValueKind.Null);
        }
    }

    [Fact]
    public async Task The_log_has_no_warning_that_repeats_per_episode_and_no_tracing_warning()
    {
        // A polled job (a poller sub-orchestration with several episodes) and a session turn (a turn started from
        // another orchestration): the episodes that used to log three "Overwriting 'DurableFunctions…'" warnings each.
        var id = await StartAsync(app, new { prompt = "Hello, tell me a joke", model = "gpt-4o-mini", polling = new { initialDelayMs = 100, maxDelayMs = 200, streamWindowSeconds = 0 } });
        using (var session = await app.SendAsync(Post("api/agent-sessions", new { model = "gpt-4o-mini" }), Token))
        {
            Assert.Equal(HttpStatusCode.Created, session.StatusCode);
            var sessionId = JsonDocument.Parse(await session.Content.ReadAsStringAsync(Token)).RootElement.GetProperty("id").GetString()!;
            using var turn = await app.SendAsync(Post($"api/agent-sessions/{sessionId}/turns", new { prompt = "Hello there" }), Token);
            Assert.Equal(HttpStatusCode.Accepted, turn.StatusCode);
            await WaitAsync(async () =>
            {
                using var read = await app.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"api/agent-sessions/{sessionId}"), Token);
                var body = JsonDocument.Parse(await read.Content.ReadAsStringAsync(Token)).RootElement;
                return body.TryGetProperty("turns", out var turns) && turns.EnumerateArray().Any(t => t.GetProperty("runtimeStatus").GetString() == "Completed");
            }, TimeSpan.FromMinutes(2));
        }

        var polls = (await WaitForResultAsync(app, id, TimeSpan.FromMinutes(2))).GetProperty("result").GetProperty("polls").GetInt32();
        Assert.True(polls >= 1, $"the job was not polled ({polls} polls)");

        var log = app.Host.Output;
        Assert.DoesNotContain("Overwriting '", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Distributed Tracing", log, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("distributed tracing is enabled", log, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("Some services are not able to be constructed", log, StringComparison.Ordinal);
    }

    internal static HttpRequestMessage Post(string path, object body) => new(HttpMethod.Post, path)
    {
        Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json"),
    };

    internal static async Task<string> StartAsync(FunctionsApp app, object request)
    {
        using var response = await app.SendAsync(Post("api/agent-jobs", request), Token);
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()!;
    }

    internal static async Task<JsonElement> WaitForResultAsync(FunctionsApp app, string id, TimeSpan timeout)
    {
        JsonElement status = default;
        await WaitAsync(async () =>
        {
            using var response = await app.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"api/agent-jobs/{id}"), Token);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                return false;
            }

            status = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Token)).RootElement.Clone();
            return status.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object;
        }, timeout);
        return status;
    }

    internal static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < timeout, $"not reached in {timeout}");
            await Task.Delay(200, Token);
        }
    }
}
