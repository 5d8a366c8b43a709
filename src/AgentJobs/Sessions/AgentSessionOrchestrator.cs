using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.DurableTask;

namespace AgentJobs.Sessions;

/// <summary>
/// A session: one agent and one thread kept for a conversation, a turn per user message. Each generation reads the
/// session's durable mailbox (<see cref="SessionMailbox"/>), runs the oldest turn request as a turn orchestration
/// (<see cref="AgentTurnOrchestrator"/>, the job's own turn), removes the request and continues as new, so history
/// stays bounded however many turns there are and turns run strictly in the order they were accepted. With nothing to
/// do it waits for the doorbell or its idle timeout. An end request (or the idle timeout) deletes the agent, and the
/// thread unless it was adopted or kept.
/// </summary>
public sealed class AgentSessionOrchestrator : TaskOrchestrator<SessionState, AgentSessionResult>
{
    /// <summary>The orchestrator name.</summary>
    public const string Name = "AgentSession";

    /// <summary>The event that wakes an idle session to read its mailbox (payload ignored).</summary>
    public const string DoorbellEventName = "SessionDoorbell";

    /// <summary>The activity that reads the mailbox (<see cref="SessionMailbox.ReadAsync"/>).</summary>
    public const string ReadMailboxActivity = "ReadSessionMailbox";

    /// <summary>The activity that records an idle end and reads the mailbox a last time (<see cref="SessionMailbox.CloseAsync"/>).</summary>
    public const string CloseMailboxActivity = "CloseSessionMailbox";

    /// <summary>The activity that removes a request whose turn has run (<see cref="SessionMailbox.RemoveAsync"/>).</summary>
    public const string RemoveRequestActivity = "RemoveSessionRequest";

    /// <summary>Status of a session that creates its agent and thread.</summary>
    public const string Starting = "starting";

    /// <summary>Status of a session that reads its mailbox.</summary>
    public const string Checking = "checking";

    /// <summary>Status of a session that runs a turn.</summary>
    public const string Running = "running";

    /// <summary>Status of a session that waits for turns.</summary>
    public const string Idle = "idle";

    /// <summary>Status of a session past its last mailbox read, deleting its agent: it takes no turn any more.</summary>
    public const string Ending = "ending";

    /// <summary>The orchestration.</summary>
    public override async Task<AgentSessionResult> RunAsync(TaskOrchestrationContext context, SessionState state)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(state);
        state = state with { StartedAt = state.StartedAt ?? context.CurrentUtcDateTime };
        void Show(string status, RunningTurn? running = null, DateTime? idleUntil = null, int queued = 0) =>
            context.SetCustomStatus(new SessionProgress(status, state.Agent?.Id, state.ThreadId, state.Turns, running, idleUntil, state.Usage, queued, state.StartedAt));

        JobFailure? failure = null;
        if (state.Agent is null)
        {
            Show(Starting);
            (state, failure) = await StartAsync(context, state);
        }

        string? endReason = null;
        if (failure is null)
        {
            // Shown before the mailbox is read: a caller that sees it rings, so no turn sent now waits unseen.
            Show(Checking);
            var mailbox = await context.CallActivityAsync<MailboxContents>(ReadMailboxActivity, context.InstanceId, AgentJobRetry.ServiceCalls);
            endReason = mailbox.EndReason;
            if (endReason is null && mailbox.Turns.Count > 0)
            {
                var next = mailbox.Turns[0];
                state = await RunTurnAsync(context, state, next.Turn, mailbox.Turns.Count - 1, Show);
                await context.CallActivityAsync<bool>(RemoveRequestActivity, next.RequestId, AgentJobRetry.ServiceCalls);
                context.ContinueAsNew(state with { LastActiveAt = context.CurrentUtcDateTime });
                return Continued(state);
            }

            if (endReason is null)
            {
                var (continued, lastEndReason) = await IdleAsync(context, state, Show);
                if (continued)
                {
                    return Continued(state);
                }

                endReason = lastEndReason;
            }
        }

        // The end: deleted, idle, or a start that failed. Every path deletes the agent.
        Show(Ending);
        return await EndAsync(context, state, failure, endReason);
    }

    /// <summary>
    /// Waits with nothing to do until the doorbell rings or the idle timeout passes. True when the session goes on (it
    /// has continued as new); else the end reason the last mailbox read found (null: the session ends idle).
    /// </summary>
    static async Task<(bool Continued, string? EndReason)> IdleAsync(
        TaskOrchestrationContext context, SessionState state, Action<string, RunningTurn?, DateTime?, int> show)
    {
        var idleUntil = (state.LastActiveAt ?? context.CurrentUtcDateTime).AddSeconds(state.IdleTimeoutSeconds);
        show(Idle, null, idleUntil, 0);
        var doorbell = context.WaitForExternalEvent<string?>(DoorbellEventName);
        if (await context.WhenAnyOrTimerAsync(idleUntil, doorbell) == doorbell)
        {
            context.ContinueAsNew(state);
            return (true, null);
        }

        // Idle: the end is recorded first, then the mailbox read a last time. A turn sent meanwhile is either seen
        // here, and the session goes on (the record removed, so its sender knows), or its sender finds the record
        // after writing its request and, once this session shows it is ending, withdraws it and refuses the turn.
        var last = await context.CallActivityAsync<MailboxContents>(CloseMailboxActivity, context.InstanceId, AgentJobRetry.ServiceCalls);
        if (last.EndReason is null && last.Turns.Count > 0)
        {
            await context.CallActivityAsync<bool>(RemoveRequestActivity, InstanceIds.SessionClosing(context.InstanceId), AgentJobRetry.ServiceCalls);
            context.ContinueAsNew(state);
            return (true, null);
        }

        return (false, last.EndReason);
    }

    /// <summary>Deletes the agent, and the thread the session created unless it is kept, and answers the session's result.</summary>
    static async Task<AgentSessionResult> EndAsync(TaskOrchestrationContext context, SessionState state, JobFailure? failure, string? endReason)
    {
        var log = context.CreateReplaySafeLogger<AgentSessionOrchestrator>();
        var reason = failure is not null ? "failed" : endReason is not null ? $"deleted: {endReason}" : "idle";
        log.SessionEnds(context.InstanceId, reason, state.Turns);
        var agentDeleted = state.Agent is null || await WorkflowSteps.TryAsync(context, nameof(AgentJobActivities.DeleteAgent), state.Agent, AgentJobRetry.Cleanup);
        var threadDeleted = state.CreatedThread && !state.KeepThread && state.ThreadId is not null
            && await WorkflowSteps.TryAsync(context, nameof(AgentJobActivities.DeleteThread), state.ThreadId, AgentJobRetry.Cleanup);
        if (!agentDeleted)
        {
            failure ??= new JobFailure("cleanup_failed", $"The agent {state.Agent!.Id} could not be deleted; delete it by hand.");
        }

        return new AgentSessionResult(reason, state.Turns, state.Usage, state.Agent?.Id, state.ThreadId, agentDeleted, threadDeleted, failure);
    }

    // The output of a generation that continued as new is never read; the last generation's is the session's.
    static AgentSessionResult Continued(SessionState state) =>
        new("continued", state.Turns, state.Usage, state.Agent?.Id, state.ThreadId, AgentDeleted: false, ThreadDeleted: false, Failure: null);

    /// <summary>Creates the agent, and the thread unless one was adopted; retried up to the turn deadline's length.</summary>
    static async Task<(SessionState State, JobFailure? Failure)> StartAsync(TaskOrchestrationContext context, SessionState state)
    {
        var template = state.Template;
        var giveUpAt = context.CurrentUtcDateTime.AddSeconds(template.MaxDurationSeconds);
        var retry = AgentJobRetry.Until(() => giveUpAt);
        try
        {
            var agent = await context.CallActivityAsync<AgentRef>(
                nameof(AgentJobActivities.CreateAgent),
                new CreateAgentInput(template.AgentName!, template.Model!, template.Instructions!, template.Tools!, context.InstanceId, WorkflowSteps.Key(context, "agent")),
                retry);
            state = state with { Agent = agent, LastActiveAt = context.CurrentUtcDateTime };
            if (state.ThreadId is null)
            {
                var thread = await context.CallActivityAsync<string>(
                    nameof(AgentJobActivities.CreateThread), new CreateThreadInput(WorkflowSteps.Key(context, "thread")), retry);
                state = state with { ThreadId = thread, CreatedThread = true };
            }

            return (state, null);
        }
        catch (TaskFailedException ex)
        {
            return (state, new JobFailure(WorkflowSteps.FailureCode(ex), WorkflowSteps.ServiceMessage(ex)));
        }
    }

    /// <summary>
    /// Runs one turn as its own orchestration. Its cancel and approval decisions go straight to it (the API sends
    /// them to the running turn the session's status names), so the session waits for nothing else meanwhile.
    /// </summary>
    static async Task<SessionState> RunTurnAsync(
        TaskOrchestrationContext context, SessionState state, SessionTurnEvent next, int queued, Action<string, RunningTurn?, DateTime?, int> show)
    {
        var number = state.Turns + 1;
        var instanceId = InstanceIds.Turn(context.InstanceId, number);
        show(Running, new RunningTurn(number, next.TurnId, instanceId), null, queued);
        SessionTurnResult? result = null;
        try
        {
            result = await context.CallSubOrchestratorAsync<SessionTurnResult>(
                AgentTurnOrchestrator.Name,
                new SessionTurnInput(context.InstanceId, number, next.TurnId, state.Agent!, state.ThreadId!, next.Request),
                new SubOrchestrationOptions { InstanceId = instanceId });
        }
        catch (TaskFailedException ex)
        {
            // The turn's own orchestration crashed (a bug); its record says so, and the session goes on.
            context.CreateReplaySafeLogger<AgentSessionOrchestrator>().SessionTurnFailed(number, context.InstanceId, ex.Message);
        }

        return state with { Turns = number, Usage = TokenUsage.Add(state.Usage, result?.Usage) };
    }
}
