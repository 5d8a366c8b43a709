using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Telemetry;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Workflow;

/// <summary>
/// One agent job, top to bottom: create the agent and the thread, add the user's message and start the run, wait
/// for it with durable timers while answering its tool calls, stop it when asked, at the deadline or on a failure,
/// read the results, and delete the agent on every path. Host-agnostic: the Functions app and the local host both
/// run it. Its input is a spec settled at the edge (<see cref="AgentJobSpec"/>).
/// </summary>
public sealed class AgentJobOrchestrator : TaskOrchestrator<AgentJobSpec, AgentJobResult>
{
    /// <summary>The orchestrator name.</summary>
    public const string Name = "AgentJob";

    /// <summary>The external event that asks a job to cancel its run gracefully (payload: a reason).</summary>
    public const string CancelEventName = "CancelJob";

    /// <summary>The external event that decides a tool call held for approval (payload: an <see cref="ApprovalDecision"/>).</summary>
    public const string ApprovalEventName = "ApprovalDecision";

    /// <summary>The orchestration.</summary>
    public override async Task<AgentJobResult> RunAsync(TaskOrchestrationContext context, AgentJobSpec request)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);

        AgentJobsTelemetry.JobStarted(context, request);
        var job = new JobTracker(context);
        var stopper = new JobStopper(context, job, request.MaxDurationSeconds, request.CancelGraceSeconds);

        var (agent, threadId, createdThread) = await CreateAsync(context, job, stopper, request);

        // The turn: the prompt answered by one run, its tool calls and stop included.
        var turn = agent is not null && threadId is not null
            ? await new AgentTurnRunner(context, job, stopper, agent, threadId, request).RunAsync()
            : AgentTurnRunner.NotStarted;

        // Cleanup runs on every path. A thread the caller supplied is never deleted.
        job.Enter(JobPhase.CleaningUp);
        var agentDeleted = agent is null || await WorkflowSteps.TryAsync(context, nameof(AgentJobActivities.DeleteAgent), agent, AgentJobRetry.Cleanup);
        var threadDeleted = createdThread && request.DeleteThread && await WorkflowSteps.TryAsync(context, nameof(AgentJobActivities.DeleteThread), threadId!, AgentJobRetry.Cleanup);

        job.Enter(JobPhase.Done);
        var result = Result(job, stopper, turn, agent, threadId, agentDeleted, threadDeleted);
        AgentJobsTelemetry.JobFinished(context, request, result);
        return result;
    }

    /// <summary>
    /// Creates the agent, and the thread unless the request names one. A cancel can arrive before anything exists: each
    /// create step first checks for it, so a job cancelled early creates nothing more. A failure is the stopper's.
    /// </summary>
    static async Task<(AgentRef? Agent, string? ThreadId, bool CreatedThread)> CreateAsync(
        TaskOrchestrationContext context, JobTracker job, JobStopper stopper, AgentJobSpec request)
    {
        AgentRef? agent = null;
        var threadId = request.ThreadId;
        var createdThread = false;

        try
        {
            if (!request.IsComplete)
            {
                stopper.Fail("invalid_request", "The job's request was not settled (model, limits); schedule jobs through AgentJobPolicy.Settle, as the API does.");
            }

            if (!stopper.ShouldStop())
            {
                job.Enter(JobPhase.CreatingAgent);
                agent = await context.CallActivityAsync<AgentRef>(
                    nameof(AgentJobActivities.CreateAgent),
                    new CreateAgentInput(request.AgentName, request.Model, request.Instructions, request.Tools, context.InstanceId, WorkflowSteps.Key(context, "agent")),
                    stopper.Working);
                job.AgentCreated(agent.Id);
            }

            if (threadId is null && !stopper.ShouldStop())
            {
                job.Enter(JobPhase.CreatingThread);
                threadId = await context.CallActivityAsync<string>(
                    nameof(AgentJobActivities.CreateThread), new CreateThreadInput(WorkflowSteps.Key(context, "thread")), stopper.Working);
                createdThread = true;
            }

            job.ThreadChosen(threadId);
        }
        catch (Exception ex)
        {
            stopper.Fail(ex);
        }

        return (agent, threadId, createdThread);
    }

    /// <summary>The job's result: how it ended, what the turn left, the tally and the cleanup.</summary>
    static AgentJobResult Result(
        JobTracker job, JobStopper stopper, TurnResult turn, AgentRef? agent, string? threadId, bool agentDeleted, bool threadDeleted)
    {
        var (run, messages, steps) = (turn.Run, turn.Messages, turn.Steps);
        var outcome = Outcome(run, stopper);
        var failure = Failure(outcome, run, stopper);
        if (!agentDeleted)
        {
            failure ??= new JobFailure("cleanup_failed", $"The agent {agent!.Id} could not be deleted; delete it by hand.");
        }

        return new AgentJobResult(
            outcome,
            run?.RawStatus,
            Reply(messages, job.RunIds),
            threadId,
            agent?.Id,
            job.RunIds,
            messages,
            steps,
            job.Usage,
            agentDeleted,
            threadDeleted,
            failure,
            job.Polls,
            job.ToolCalls,
            job.Elapsed,
            stopper.Recorded(run),
            job.Approvals);
    }

    /// <summary>
    /// A failure or a budget the job went over decides first (a budget can only be judged once usage is reported,
    /// which classic services do when the run ends); then the run's own ending (completed, failed, expired,
    /// incomplete); a run that was stopped, or never started, ends as the stop says.
    /// </summary>
    internal static JobOutcome Outcome(RunState? run, JobStopper stopper) => (run?.Status, stopper.Stop?.Reason) switch
    {
        (_, StopReason.Failed) => JobOutcome.Failed,
        (_, StopReason.BudgetExceeded) => JobOutcome.BudgetExceeded,
        (AgentRunStatus.Completed, _) => JobOutcome.Completed,
        (AgentRunStatus.Failed or AgentRunStatus.Unknown, _) => JobOutcome.Failed,
        (AgentRunStatus.Expired, _) => JobOutcome.Expired,
        (AgentRunStatus.Incomplete, _) => JobOutcome.Incomplete,
        (_, StopReason.DeadlinePassed) => JobOutcome.TimedOut,
        (_, StopReason.CancelRequested or StopReason.ApprovalTimedOut) => JobOutcome.Cancelled,
        (AgentRunStatus.Cancelled, _) => JobOutcome.Cancelled,
        _ => JobOutcome.Failed,
    };

    internal static JobFailure? Failure(JobOutcome outcome, RunState? run, JobStopper stopper) => outcome switch
    {
        JobOutcome.Completed => null,
        _ when stopper.Failure is { } failure => failure,
        JobOutcome.TimedOut => new JobFailure("timed_out", $"The job passed its maximum duration of {stopper.MaxDurationSeconds} s; {(run is null ? "the run had not started." : "the run was cancelled.")}"),
        JobOutcome.BudgetExceeded => new JobFailure("budget_exceeded", $"The job went over a budget: {stopper.Stop!.Message}; " +
            (run?.Status == AgentRunStatus.Completed ? "the run had already completed (its reply is kept)." : "the run was stopped.")),
        JobOutcome.Cancelled when stopper.Stop is { Reason: StopReason.ApprovalTimedOut } stop =>
            new JobFailure("approval_timed_out", $"Cancelled: {stop.Message}."),
        JobOutcome.Cancelled when stopper.Stop is { Reason: StopReason.CancelRequested } stop =>
            new JobFailure("cancelled", $"Cancelled on request: {stop.Message}.{(run is null ? " The run had not started; nothing more was created." : "")}"),
        _ when run is null => new JobFailure("not_started", "The run was never started."),
        _ => run.Error ?? new JobFailure(run.RawStatus, RunEndedMessage(run)),
    };

    static string RunEndedMessage(RunState run) => run.Status switch
    {
        AgentRunStatus.Incomplete => $"The run stopped early: {run.IncompleteReason ?? "no reason given"}.",
        AgentRunStatus.Expired => "The run expired on the service before it finished.",
        AgentRunStatus.Cancelled => "The run was cancelled by the service.",
        AgentRunStatus.Unknown => $"The run ended with a status this version does not know: '{run.RawStatus}'.",
        _ => $"The run ended as '{run.RawStatus}'.",
    };

    // The reply is what the agent said in this job's runs; services that do not tag messages with runs get the
    // last assistant message.
    internal static string? Reply(IReadOnlyList<JobMessage> messages, IReadOnlyList<string> runIds)
    {
        var ours = messages.Where(m => m.Role == "assistant" && m.RunId is not null && runIds.Contains(m.RunId)).Select(m => m.Text).ToList();
        if (ours.Count > 0)
        {
            return string.Join("\n\n", ours);
        }

        return messages.LastOrDefault(m => m.Role == "assistant" && m.RunId is null)?.Text;
    }
}
