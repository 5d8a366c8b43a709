using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Tests.Support;
using AgentJobs.Workflow;

namespace AgentJobs.Tests;

/// <summary>The agent is deleted exactly once on every path; threads are deleted only when the job made them and was asked to.</summary>
public class CleanupTests
{
    static ToolCallRequest UnknownTool => new("call_1", "no_such_tool", "{}");

    /// <summary>Every way a job can end; each must delete its agent exactly once.</summary>
    public enum Ending
    {
        Success,
        FailedRun,
        ToolErrors,
        Timeout,
        NonTransientStartFailure,
        DuplicateToolCallIds,
        UnexpectedServiceData,
    }

    public static TheoryData<Ending, JobOutcome> Endings => new()
    {
        { Ending.Success, JobOutcome.Completed },
        { Ending.FailedRun, JobOutcome.Failed },
        { Ending.ToolErrors, JobOutcome.Completed },
        { Ending.Timeout, JobOutcome.TimedOut },
        { Ending.NonTransientStartFailure, JobOutcome.Failed },
        { Ending.DuplicateToolCallIds, JobOutcome.Failed },
        { Ending.UnexpectedServiceData, JobOutcome.Failed },
    };

    [Theory]
    [MemberData(nameof(Endings))]
    public async Task The_agent_is_deleted_exactly_once(Ending ending, JobOutcome outcome)
    {
        await using var host = await WorkflowHost.StartAsync();
        var request = WorkflowHost.Job();
        switch (ending)
        {
            case Ending.Success:
                break;
            case Ending.FailedRun:
                host.Service.Script = _ => [ScriptStep.Failed("server_error", "boom")];
                break;
            case Ending.ToolErrors:
                host.Service.Script = _ => [ScriptStep.Tools(UnknownTool), ScriptStep.Of("completed")];
                break;
            case Ending.Timeout:
                host.Service.Script = _ => ScriptStep.InProgressThen(100_000);
                request = request with { MaxDurationSeconds = 1 };
                break;
            case Ending.NonTransientStartFailure:
                host.Service.Fail("StartRun", 1, () => new AgentServiceException("Model deployment 'nope' not found.", 400, "invalid_request"));
                break;
            case Ending.DuplicateToolCallIds:
                host.Service.Script = _ => [ScriptStep.Tools(new("call_same", "calculate", "{}"), new("call_same", "calculate", "{}")), ScriptStep.Of("completed")];
                break;
            case Ending.UnexpectedServiceData:
                // Not a TaskFailedException: the orchestrator itself trips over what the service sent.
                host.Service.Script = _ => [new ScriptStep("requires_action", null!), ScriptStep.Of("completed")];
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(ending), ending, "no setup for this ending");
        }

        var result = await host.RunJobAsync(request);

        Assert.Equal(outcome, result.Outcome);
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task Duplicate_tool_call_ids_fail_the_job_with_a_message_naming_the_id()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ => [ScriptStep.Tools(new("call_same", "calculate", """{"expression":"1"}"""), new("call_same", "calculate", """{"expression":"2"}""")), ScriptStep.Of("completed")];

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = ["calculate"] });

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Equal("invalid_tool_calls", result.Failure!.Code);
        Assert.Contains("'call_same'", result.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(0, host.Service.Count("SubmitToolOutputs"));
        Assert.Equal(1, host.Service.Count("CancelRun"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task Run_step_tool_texts_are_capped_in_the_result()
    {
        await using var host = await WorkflowHost.StartAsync();
        var huge = new string('x', 120_000);
        host.Service.StepToolCalls = [new JobToolCall("call_1", "calculate", huge, huge)];

        var result = await host.RunJobAsync(WorkflowHost.Job());

        var call = Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls));
        Assert.True(call.Arguments.Length < ResultText.MaxToolTextLength + 100, $"{call.Arguments.Length} characters kept");
        Assert.EndsWith("[cut 115,904 of 120,000 characters]", call.Arguments, StringComparison.Ordinal);
        Assert.EndsWith("[cut 115,904 of 120,000 characters]", call.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Transient_failures_beyond_the_retry_budget_fail_the_job_and_still_clean_up()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Fail("GetRun", AgentJobRetry.MaxAttempts, () => new TransientAgentServiceException("Service unavailable.", 503));

        var result = await host.RunJobAsync(WorkflowHost.Job(), timeoutSeconds: 90);

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Equal("agent_service_error", result.Failure!.Code);
        Assert.Equal(AgentJobRetry.MaxAttempts, host.Service.Count("GetRun"));
        Assert.Equal(1, host.Service.Count("CancelRun"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task An_agent_already_gone_still_counts_as_deleted()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.AgentsVanishBeforeDelete = true;

        var result = await host.RunJobAsync(WorkflowHost.Job());

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_failure_to_create_the_agent_means_nothing_to_delete()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Fail("CreateAgent", 1, () => new AgentServiceException("The model 'gpt-nope' does not exist.", 400));

        var result = await host.RunJobAsync(WorkflowHost.Job());

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Contains("gpt-nope", result.Failure!.Message, StringComparison.Ordinal);
        Assert.Null(result.AgentId);
        Assert.Equal(0, host.Service.Count("DeleteAgent"));
        Assert.Equal(0, host.Service.Count("CreateThread"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_thread_the_caller_supplied_is_never_deleted(bool deleteThread)
    {
        await using var host = await WorkflowHost.StartAsync();

        var result = await host.RunJobAsync(WorkflowHost.Job() with { ThreadId = "thread_callers", DeleteThread = deleteThread });

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal("thread_callers", result.ThreadId);
        Assert.False(result.ThreadDeleted);
        Assert.Equal(0, host.Service.Count("CreateThread"));
        Assert.Equal(0, host.Service.Count("DeleteThread"));
        host.AssertAgentCleanedUp(result);
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 1)]
    public async Task A_thread_the_job_created_is_deleted_once_only_when_asked(bool deleteThread, int deletes)
    {
        await using var host = await WorkflowHost.StartAsync();

        var result = await host.RunJobAsync(WorkflowHost.Job() with { DeleteThread = deleteThread });

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.NotNull(result.ThreadId);
        Assert.Equal(deleteThread, result.ThreadDeleted);
        Assert.Equal(deletes, host.Service.Count("DeleteThread"));
        Assert.Equal(1, host.Service.Count("CreateThread"));
    }
}
