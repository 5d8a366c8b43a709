using System.Net.Http.Json;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;
using LocalAgentService;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// Stopping an in-memory <c>serve</c> (SIGTERM, as a service manager stops it, or Ctrl+C) ends its state, so it
/// cancels the jobs still running and ends the open sessions, and lets them delete their agents first.
/// </summary>
public class ServeShutdownTests
{
    [Theory]
    [InlineData("TERM")]
    [InlineData("INT")]
    public async Task Stopping_serve_cancels_running_jobs_ends_open_sessions_and_leaves_no_agent(string signal)
    {
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions
        {
            ApiKey = "shutdown-key",
            Simulation = { QueuedMs = 0, InProgressMs = 120_000 },
        }, TestContext.Current.CancellationToken);
        await using var serve = await ServeProcess.StartAsync(TimeSpan.FromSeconds(40),
            "--endpoint", service.OpenAIEndpoint.ToString(), "--api-key", "shutdown-key");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        using var posted = await http.PostAsJsonAsync(new Uri(serve.BaseAddress, "api/agent-jobs"), new { prompt = "Hello" }, TestContext.Current.CancellationToken);
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));

        // An open session holds its own agent between turns; stopping must end it too.
        using var session = await http.PostAsJsonAsync(new Uri(serve.BaseAddress, "api/agent-sessions"), new { }, TestContext.Current.CancellationToken);
        Assert.True(session.IsSuccessStatusCode, await session.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var until = DateTime.UtcNow.AddSeconds(30);
        while ((await service.GetStatsAsync()).ActiveRuns < 1)
        {
            Assert.True(DateTime.UtcNow < until, "the job's run never started");
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        var exit = await serve.SignalAndWaitAsync(signal, TimeSpan.FromSeconds(60));

        Assert.Equal(0, exit);
        var stats = await service.GetStatsAsync();
        Assert.Equal(0, stats.Assistants);
        Assert.Equal(2, stats.AssistantsCreated);
        Assert.Contains("every running job and session was stopped and cleaned up", serve.Output, StringComparison.Ordinal);
    }
}
