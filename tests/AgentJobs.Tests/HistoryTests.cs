using AgentJobs.Contracts;
using AgentJobs.Tests.Support;

namespace AgentJobs.Tests;

/// <summary>History stays bounded however long the run: the poller continues as new every few polls.</summary>
public class HistoryTests
{
    const int PollsPerGeneration = 40;

    // A generation of the poller records about 8 events per poll (timer created/fired, activity scheduled/completed,
    // episode markers); the parent records a few dozen. Without continue-as-new, 2,000 polls would be ~16,000.
    const int HistoryBound = 400;

    [Fact]
    public async Task A_2000_poll_run_completes_with_every_history_under_a_fixed_bound()
    {
        await using var host = await WorkflowHost.StartAsync(recordHistory: true);
        host.Service.Script = _ => ScriptStep.InProgressThen(1999);
        var id = await host.StartJobAsync(WorkflowHost.Job() with
        {
            Polling = new PollingSettings(InitialDelayMs: 1, MaxDelayMs: 1, PollsPerGeneration: PollsPerGeneration),
        });

        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id, timeoutSeconds: 300));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(2000, result.Polls);
        Assert.Equal(2000, host.Service.Count("GetRun"));

        var parent = Assert.Single(host.History.GenerationsOf(id));
        Assert.InRange(parent, 1, HistoryBound);

        var poller = host.History.GenerationsOf($"{id}:poll:0");
        Assert.True(poller.Count >= 2000 / PollsPerGeneration, $"only {poller.Count} poller generations");
        Assert.All(poller, events => Assert.InRange(events, 1, HistoryBound));
        Assert.DoesNotContain(host.History.LargestHistories.Keys, k => k.InstanceId == $"{id}:poll:1"); // one poller, many generations
    }
}
