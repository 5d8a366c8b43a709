using System.Diagnostics;
using AgentFunctions.Tests.Support;
using static AgentFunctions.Tests.HostProcessTests;

namespace AgentFunctions.Tests;

/// <summary>
/// A host of its own, as a developer's <c>func start</c> runs (no keys, Development), whose simulated runs last 20 s:
/// stream-first waiting with the Functions app's 10 s window, and a <c>kill -9</c> of the host mid-job.
/// </summary>
public sealed class HostRestartTests(HostRestartTests.SlowRunsApp app, ITestOutputHelper output) : IClassFixture<HostRestartTests.SlowRunsApp>
{
    /// <summary>The app with 20 s runs, no poll hints (as the real services) and keys off.</summary>
    public sealed class SlowRunsApp() : FunctionsApp(new FunctionsAppOptions { EnableAuth = false, SimulatedRunMs = 20_000, PollHints = false });

    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_twenty_second_run_streams_for_ten_seconds_then_is_polled_twice()
    {
        // README (stream-first waiting): the StartRun activity follows the stream for the 10 s window, then the poller
        // keeps the schedule a polled run would have had (1 s × 1.5: polls due at 13.2 s and 20.8 s), so the run is
        // seen with 2 polls. Early timers on Azure Storage are re-armed, so they do not add polls.
        var id = await StartAsync(app, new { prompt = "Hello, tell me a joke", model = "gpt-4o-mini" });
        var result = (await WaitForResultAsync(app, id, TimeSpan.FromMinutes(3))).GetProperty("result");
        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        output.WriteLine($"polls {result.GetProperty("polls").GetInt32()}, elapsed {result.GetProperty("elapsedSeconds").GetDouble():0.0} s");
        Assert.Equal(2, result.GetProperty("polls").GetInt32());
    }

    [Fact]
    public async Task After_kill_9_of_the_host_mid_job_a_restarted_host_completes_the_job_and_deletes_its_agent()
    {
        var id = await StartAsync(app, new { prompt = "Hello, tell me a joke", model = "gpt-4o-mini" });
        // Mid-run: the StartRun activity is holding the run's stream (a dequeued work item the killed host never completes).
        await WaitAsync(async () => (await StatusAsync(id)).GetProperty("progress") is { ValueKind: System.Text.Json.JsonValueKind.Object } p
            && p.GetProperty("phase").GetString() == "StartingRun", TimeSpan.FromMinutes(1));
        await Task.Delay(2_000, Token);

        await app.Host.KillAsync();
        var down = Stopwatch.StartNew();
        await app.StartHostAsync(Token);
        var restarted = down.Elapsed;

        var result = (await WaitForResultAsync(app, id, TimeSpan.FromMinutes(4))).GetProperty("result");
        output.WriteLine($"host back in {restarted.TotalSeconds:0.0} s; job finished {down.Elapsed.TotalSeconds:0.0} s after the kill");
        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
        Assert.False(await app.AgentExistsAsync(result.GetProperty("agentId").GetString()!, Token));
    }

    async Task<System.Text.Json.JsonElement> StatusAsync(string id)
    {
        using var response = await app.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"api/agent-jobs/{id}"), Token);
        return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(Token)).RootElement.Clone();
    }
}
