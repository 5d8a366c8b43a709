using AgentJobs.Contracts;
using AgentJobs.Tests.Support;

namespace AgentJobs.Tests;

/// <summary>The custom status shows where a job is; the poller's shows live poll counts; the result sums it up.</summary>
public class ProgressTests
{
    [Fact]
    public async Task A_polling_job_points_to_its_poller_whose_status_counts_polls()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Paused = true; // the run "thinks" until released
        var id = await host.StartJobAsync(WorkflowHost.Job());

        JobProgress? progress = null;
        await WorkflowHost.WaitUntilAsync(
            async () => (progress = await host.CustomStatusAsync<JobProgress>(id)) is { Phase: JobPhase.Polling, PollerInstanceId: not null },
            "the Polling phase");
        Assert.Equal($"{id}:poll:0", progress!.PollerInstanceId);
        Assert.NotNull(progress.AgentId);
        Assert.NotNull(progress.ThreadId);
        Assert.NotNull(progress.RunId);

        // Every read is kept: the count must never go back (e.g. across continue-as-new) and must move.
        var seen = new List<int>();
        await WorkflowHost.WaitUntilAsync(
            async () =>
            {
                if (await host.CustomStatusAsync<PollerProgress>(progress.PollerInstanceId!) is { } poller)
                {
                    seen.Add(poller.Polls);
                }

                return seen.Distinct().Count() >= 3;
            },
            "three different poll counts");
        Assert.All(seen.Zip(seen.Skip(1)), pair => Assert.True(pair.Second >= pair.First, $"the poll count went back: {string.Join(", ", seen)}"));
        Assert.True(seen[0] >= 1);

        host.Service.Paused = false;
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));
        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.True(result.Polls > seen[^1]);
        Assert.Equal(JobPhase.Done, (await host.CustomStatusAsync<JobProgress>(id))!.Phase);
    }

    [Fact]
    public async Task A_job_with_tool_calls_reports_the_running_tools_phase()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await WorkflowHost.StartAsync(services =>
            AgentJobs.Tools.AgentToolServiceCollectionExtensions.AddAgentTool(services, "slow", "Waits to be released.", async () =>
            {
                await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
                return "done";
            }));
        host.Service.Script = _ => [ScriptStep.Tools(new("call_1", "slow", "{}"), new("call_2", "slow", "{}")), ScriptStep.Of("completed")];
        var id = await host.StartJobAsync(WorkflowHost.Job() with { Tools = ["slow"] });

        JobProgress? progress = null;
        await WorkflowHost.WaitUntilAsync(
            async () => (progress = await host.CustomStatusAsync<JobProgress>(id)) is { Phase: JobPhase.RunningTools },
            "the RunningTools phase");
        Assert.Equal(["slow", "slow"], progress!.PendingToolCalls);
        Assert.Equal("requires_action", progress.RunStatus);

        release.SetResult();
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));
        Assert.Equal(JobOutcome.Completed, result.Outcome);
    }

    [Fact]
    public async Task The_result_has_polls_tool_calls_run_ids_and_usage()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ =>
        [
            ScriptStep.Of("in_progress"),
            ScriptStep.Tools(new("call_1", "calculate", """{"expression":"1+2"}"""), new("call_2", "calculate", """{"expression":"3*4"}""")),
            ScriptStep.Of("in_progress"),
            ScriptStep.Of("completed"),
        ];

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = ["calculate"] });

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(host.Service.Count("GetRun"), result.Polls);
        Assert.Equal(4, result.Polls);
        Assert.Equal(2, result.ToolCalls);
        var runId = Assert.Single(result.RunIds);
        Assert.Equal(new TokenUsage(10, 5, 15), result.Usage);
        Assert.Equal(runId, Assert.Single(result.RunSteps).RunId);
        Assert.Equal(["user", "assistant"], result.Messages.Select(m => m.Role));
        Assert.Equal("completed", result.RunStatus);
        Assert.True(result.ElapsedSeconds > 0);
    }
}
