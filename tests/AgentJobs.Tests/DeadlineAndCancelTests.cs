using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Tests.Support;
using AgentJobs.Workflow;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tests;

/// <summary>The job's deadline and the caller's cancel both cancel the run and still clean up; terminate does not.</summary>
public class DeadlineAndCancelTests
{
    // A run that stays in_progress far longer than any test waits.
    static IReadOnlyList<ScriptStep> Endless(string prompt) => ScriptStep.InProgressThen(100_000);

    static async Task<string> StartPollingEndlessJobAsync(WorkflowHost host)
    {
        host.Service.Script = Endless;
        var id = await host.StartJobAsync(WorkflowHost.Job());
        await host.WaitForPollsAsync(2);
        return id;
    }

    [Fact]
    public async Task A_run_past_the_deadline_is_cancelled_and_the_job_times_out()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = Endless;

        var result = await host.RunJobAsync(WorkflowHost.Job() with { MaxDurationSeconds = 2 });

        Assert.Equal(JobOutcome.TimedOut, result.Outcome);
        Assert.Equal("timed_out", result.Failure!.Code);
        Assert.True(result.ElapsedSeconds >= 2, $"ended after {result.ElapsedSeconds} s");
        Assert.Equal(1, host.Service.Count("CancelRun"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_cancel_request_while_polling_cancels_the_run_and_deletes_the_agent()
    {
        await using var host = await WorkflowHost.StartAsync();
        var id = await StartPollingEndlessJobAsync(host);

        await host.Client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "the user changed their mind");
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.Equal("cancelled", result.RunStatus);
        Assert.Equal("cancelled", result.Failure!.Code);
        Assert.Contains("the user changed their mind", result.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, host.Service.Count("CancelRun"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_run_that_fails_by_itself_before_the_cancel_takes_ends_the_job_Failed_with_the_cancel_not_honoured()
    {
        // The cancel is sent, but the run fails on the service before it takes: the run's own ending is the outcome
        // (README: "the run's own ending speaks first"), so the stop must say it was not honoured, as for a run that
        // completed meanwhile. Found by the random stop driver with injected run failures.
        await using var host = await WorkflowHost.StartAsync();
        host.Service.CancelEndsAs = "failed";
        var id = await StartPollingEndlessJobAsync(host);

        await host.Client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "too late to matter", TestContext.Current.CancellationToken);
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Equal("failed", result.RunStatus);
        Assert.Equal(StopReason.CancelRequested, result.Stop!.Reason);
        Assert.False(result.Stop.Honoured);
        Assert.Equal(1, host.Service.Count("CancelRun"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_run_created_by_a_start_that_then_failed_is_cancelled_by_its_key_so_the_thread_takes_the_next_job()
    {
        // The start created its run but its answer never came back, so the job saw no run. Found by the random stop
        // driver on foundry: the response's function call was left open and the next job on the conversation failed.
        await using var host = await WorkflowHost.StartAsync();
        host.Service.OneRunPerThread = true;
        host.Service.Script = Endless;
        host.Service.StartFailsAfterCreatingRun = true;

        var failed = await host.RunJobAsync(WorkflowHost.Job());

        Assert.Equal(JobOutcome.Failed, failed.Outcome);
        Assert.Null(failed.RunStatus); // no run seen
        Assert.Equal(1, host.Service.Count("CancelStartedRun"));
        Assert.Equal(1, host.Service.Count("CloseToolCalls"));
        host.AssertAgentCleanedUp(failed);

        host.Service.StartFailsAfterCreatingRun = false;
        host.Service.Script = _ => [ScriptStep.Of("completed")];
        var next = await host.RunJobAsync(WorkflowHost.Job() with { ThreadId = failed.ThreadId });
        Assert.Equal(JobOutcome.Completed, next.Outcome);
    }

    [Fact]
    public async Task A_cancel_raised_before_its_instance_exists_waits_for_it_and_is_delivered()
    {
        // A session publishes its running turn before the turn's sub-orchestration exists, so a cancel can name an
        // instance not created yet. It must neither fail (the Functions host answers NotFound) nor vanish (the
        // in-memory backend drops an event to an unknown instance): it waits for the instance, then is delivered.
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = Endless;
        var id = "early-cancel-" + Guid.NewGuid().ToString("N");
        var raising = JobEvents.RaiseAsync(host.Client, id, AgentJobOrchestrator.CancelEventName, "sent before the start", TestContext.Current.CancellationToken);
        await Task.Delay(500, TestContext.Current.CancellationToken);
        Assert.False(raising.IsCompleted, "the event was raised on an instance that does not exist");

        var settled = host.Services.GetRequiredService<AgentJobs.Application.AgentJobPolicy>().Settle(WorkflowHost.Job());
        await host.Client.ScheduleNewOrchestrationInstanceAsync(AgentJobOrchestrator.Name, settled, new Microsoft.DurableTask.StartOrchestrationOptions(id), TestContext.Current.CancellationToken);

        Assert.Equal(JobEvents.RaiseResult.Raised, await raising);
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));
        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.Contains("sent before the start", result.Failure!.Message, StringComparison.Ordinal);
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_run_stuck_in_cancelling_holds_a_cancelled_job_for_the_grace_period_not_until_its_deadline()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.CancelSticks = true;
        host.Service.Script = Endless;
        var id = await host.StartJobAsync(WorkflowHost.Job() with { MaxDurationSeconds = 3600, CancelGraceSeconds = 2 });
        await host.WaitForPollsAsync(2);

        // The cancel reaches the job while its poller waits; the poller had been given the job's 1 h deadline.
        await host.Client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "stop now");
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id, timeoutSeconds: 30));

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.Equal("cancelling", result.RunStatus);
        Assert.InRange(result.ElapsedSeconds - result.Stop!.AtSeconds, 1.5, 20); // the grace period, not the hour
        Assert.Equal(1, host.Service.Count("CancelRun"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_run_stuck_in_cancelling_after_the_deadline_is_given_up_after_the_grace_period()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.CancelSticks = true;
        host.Service.Script = Endless;

        var result = await host.RunJobAsync(WorkflowHost.Job() with { MaxDurationSeconds = 1, CancelGraceSeconds = 2 }, timeoutSeconds: 30);

        Assert.Equal(JobOutcome.TimedOut, result.Outcome);
        Assert.Equal("cancelling", result.RunStatus);
        Assert.InRange(result.ElapsedSeconds, 3, 12);
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_cancel_request_before_the_run_starts_ends_the_job_without_starting_it()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = Endless;
        // A long retry-after keeps the job waiting to retry however slow the machine; the cancel ends that wait.
        host.Service.Fail("CreateThread", 1, () => new AgentJobs.AgentService.TransientAgentServiceException("busy", 503, TimeSpan.FromSeconds(30)));
        var id = await host.StartJobAsync(WorkflowHost.Job());
        await WorkflowHost.WaitUntilAsync(() => Task.FromResult(host.Service.Count("CreateThread") >= 1), "the first CreateThread");

        // The event arrives while the workflow waits to retry CreateThread: nothing after it is created.
        await host.Client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "never mind");
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.Contains("never mind", result.Failure!.Message, StringComparison.Ordinal);
        Assert.Contains("had not started", result.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, host.Service.Count("StartRun"));
        Assert.Equal(0, host.Service.Count("CancelRun"));
        Assert.Empty(result.RunIds);
        Assert.Equal(new JobStop(StopReason.CancelRequested, "never mind", result.Stop!.AtSeconds), result.Stop);
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task Cancels_sent_right_after_the_start_all_end_their_jobs_cancelled()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ => ScriptStep.InProgressThen(2);

        // Raised the way the API raises them (once the instance has left Pending), as fast as possible.
        var ids = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            var id = await host.StartJobAsync(WorkflowHost.Job());
            Assert.Equal(JobEvents.RaiseResult.Raised, await JobEvents.RaiseAsync(host.Client, id, AgentJobOrchestrator.CancelEventName, "at once", TestContext.Current.CancellationToken));
            return id;
        }));
        var results = await Task.WhenAll(ids.Select(async id => WorkflowHost.ResultOf(await host.WaitForEndAsync(id))));

        Assert.All(results, r => Assert.Equal(JobOutcome.Cancelled, r.Outcome));
        Assert.All(results, r => Assert.True(r.AgentDeleted || r.AgentId is null));
        Assert.Empty(host.Service.LiveAgents);
    }

    [Fact]
    public async Task A_cancel_that_arrives_after_the_run_failed_on_its_own_is_recorded_but_not_reported_as_the_cause()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ => [ScriptStep.Failed("server_error", "the model broke")];

        // Hold the job in CollectingResults (ListMessages retried) while the cancel arrives.
        // (A 5 s retry-after keeps it there however slow the machine.)
        host.Service.Fail("ListMessages", 1, () => new AgentJobs.AgentService.TransientAgentServiceException("busy", 503, TimeSpan.FromSeconds(5)));
        var id = await host.StartJobAsync(WorkflowHost.Job());
        await WorkflowHost.WaitUntilAsync(() => Task.FromResult(host.Service.Count("ListMessages") >= 1), "the first ListMessages");
        await host.Client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "too late");
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Equal("server_error", result.Failure!.Code);
        Assert.Equal(0, host.Service.Count("CancelRun"));
        Assert.Equal(StopReason.CancelRequested, result.Stop?.Reason);
        Assert.False(result.Stop!.Honoured);
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task Terminating_an_instance_skips_cleanup_which_is_why_callers_should_cancel()
    {
        await using var host = await WorkflowHost.StartAsync();
        var id = await StartPollingEndlessJobAsync(host);

        await host.Client.TerminateInstanceAsync(id, "stop");
        var done = await host.WaitForEndAsync(id);

        Assert.Equal(OrchestrationRuntimeStatus.Terminated, done.RuntimeStatus);
        Assert.Single(host.Service.LiveAgents);
        Assert.Equal(0, host.Service.Count("DeleteAgent"));
        Assert.Equal(0, host.Service.Count("CancelRun"));
    }
}
