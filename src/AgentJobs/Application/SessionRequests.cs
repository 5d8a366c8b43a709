using AgentJobs.Contracts;
using AgentJobs.Sessions;
using AgentJobs.Workflow;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Application;

/// <summary>
/// What a caller does to a session, shared by the API, the CLI and tests: a turn or an end request goes into the
/// durable mailbox, then the doorbell wakes the session if it is idle.
/// </summary>
public static class SessionRequests
{
    /// <summary>
    /// Validates a new session as a job is validated (the agent's fields, tools, approval policy, budgets) plus its idle
    /// timeout, and settles it into the first generation's input; or the field and message of the first problem.
    /// </summary>
    public static (SessionState? State, ValidationProblem? Problem) Settle(
        AgentSessionRequest session, AgentJobRequestValidator validator, AgentJobPolicy policy, AgentJobsApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        // The template is checked without a prompt; the placeholder only fills the settled template's prompt, which
        // each turn replaces. It is kept because a session's stored state carries it.
        var template = new AgentJobRequest(
            "(session)", session.Instructions, session.Model, session.AgentName, session.Tools, session.ThreadId,
            MaxToolRounds: session.MaxToolRounds, MaxTotalTokens: session.MaxTotalTokens, Polling: session.Polling, Approval: session.Approval);
        if (validator.ValidateTemplate(template) is { } invalid)
        {
            return (null, invalid);
        }

        if (session.IdleTimeoutSeconds is { } idle && (idle < 1 || idle > options.MaxSessionIdleSeconds))
        {
            return (null, new("idleTimeoutSeconds", $"'idleTimeoutSeconds' must be between 1 and {options.MaxSessionIdleSeconds}; got {idle}."));
        }

        return (new SessionState(
            policy.Settle(template), session.IdleTimeoutSeconds ?? AgentSessionRequest.DefaultIdleTimeoutSeconds, session.KeepThread, ThreadId: session.ThreadId), null);
    }

    /// <summary>
    /// A turn of <paramref name="state"/>'s session: its template with the prompt and deadline (default 600 s), with
    /// <paramref name="turnId"/> (one derived from an idempotency key) or a new id.
    /// </summary>
    public static SessionTurnEvent Turn(SessionState state, string prompt, int? maxDurationSeconds, string? turnId = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        return new SessionTurnEvent(
            turnId ?? Guid.NewGuid().ToString("N"),
            state.Template with { Prompt = prompt, MaxDurationSeconds = maxDurationSeconds ?? AgentJobDefaults.MaxDurationSeconds });
    }

    /// <summary>
    /// Puts a turn in the session's mailbox, then rings unless the session is running a turn. Race-free: a session shows
    /// <c>running</c> only between the mailbox read that started its turn and the next generation's first step, which
    /// shows <c>checking</c> before it reads the mailbox again, after this request was made. So the doorbells a session
    /// gets stay few however many turns are queued, and its history stays small.
    /// <para>
    /// A session whose idle timeout fires records its end (<see cref="InstanceIds.SessionClosing"/>) and then reads its
    /// mailbox once more; this writes the request and then looks for that record. So either the session's last read
    /// sees the request (it then goes on and runs it), or this finds the record and waits for the session's decision:
    /// the record removed (it went on, and reads the mailbox again) or the session ending (the request is removed and
    /// the turn refused). A turn is never accepted and then dropped by an idle end.
    /// </para>
    /// </summary>
    /// <returns>Whether the turn runs next, waits behind another (a turn runs, or an earlier request is still in the
    /// mailbox), or was refused because the session ended for idleness before it could take it.</returns>
    public static async Task<TurnSent> SendTurnAsync(DurableTaskClient client, string sessionId, SessionTurnEvent turn, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(turn);
        var requestId = InstanceIds.MailboxRequest(sessionId, turn.TurnId);

        // A session still creating its agent and thread may yet fail and end without reading its mailbox, so a turn
        // waits (bounded) for the start to be over: a session that ended meanwhile refuses it.
        if (await StartedAsync(client, sessionId, cancellationToken).ConfigureAwait(false) is false)
        {
            return TurnSent.Refused;
        }

        await client.ScheduleNewOrchestrationInstanceAsync(
            AgentSessionRequestOrchestrator.Name, turn, new StartOrchestrationOptions(requestId), cancellationToken).ConfigureAwait(false);
        if (await client.GetInstanceAsync(InstanceIds.SessionClosing(sessionId), cancellationToken).ConfigureAwait(false) is not null
            && !await TakenByClosingSessionAsync(client, sessionId, turn.TurnId, cancellationToken).ConfigureAwait(false))
        {
            await SessionMailbox.DeleteRecordAsync(client, requestId, "refused: the session ended for idleness", cancellationToken).ConfigureAwait(false);
            return TurnSent.Refused;
        }

        var status = (await client.GetInstanceAsync(sessionId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false))?.ReadCustomStatusAs<SessionProgress>();
        if (status?.Status != AgentSessionOrchestrator.Running)
        {
            await RingAsync(client, sessionId, cancellationToken).ConfigureAwait(false);
        }

        // A request is removed once its turn has run, so an older one still there is ahead of this one (or running).
        var requests = new List<(DateTimeOffset CreatedAt, string Id)>();
        var query = new OrchestrationQuery { InstanceIdPrefix = InstanceIds.MailboxPrefix(sessionId), PageSize = 500, FetchInputsAndOutputs = false };
        await foreach (var request in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (request.Name == AgentSessionRequestOrchestrator.Name)
            {
                requests.Add((request.CreatedAt, request.InstanceId));
            }
        }

        var mine = requests.FirstOrDefault(r => r.Id == requestId);
        var ahead = requests.Any(r => r.Id != requestId && (r.CreatedAt < mine.CreatedAt || (r.CreatedAt == mine.CreatedAt && string.CompareOrdinal(r.Id, requestId) < 0)));
        return ahead || status?.Status == AgentSessionOrchestrator.Running ? TurnSent.Queued : TurnSent.Next;
    }

    /// <summary>
    /// Waits (at most <see cref="JobEvents.StartWait"/>) until the session is past creating its agent and thread:
    /// true when it is, false when it ended instead (its start failed), null when it still starts after the wait.
    /// </summary>
    static async Task<bool?> StartedAsync(DurableTaskClient client, string sessionId, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + JobEvents.StartWait;
        var delay = 25;
        while (true)
        {
            var session = await client.GetInstanceAsync(sessionId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            if (session is null || session.IsCompleted)
            {
                return false;
            }

            if (session.ReadCustomStatusAs<SessionProgress>()?.Status is { } status && status != AgentSessionOrchestrator.Starting)
            {
                return status != AgentSessionOrchestrator.Ending || await client.GetInstanceAsync(InstanceIds.SessionClosing(sessionId), cancellationToken).ConfigureAwait(false) is not null
                    ? true // an idle end is decided after the request is written (see above)
                    : false; // ending after a failed start or a DELETE: nothing more is read
            }

            if (DateTime.UtcNow >= until)
            {
                return null;
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = Math.Min(delay * 2, 250);
        }
    }

    /// <summary>How long a turn sent as its session ends for idleness waits for the session's decision (one mailbox read).</summary>
    public static readonly TimeSpan ClosingDecisionWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Waits for a session that records its idle end to decide: true when it goes on (its closing record is removed,
    /// so its next generation reads the request), or a turn with this id has started; false when it ends without it.
    /// </summary>
    static async Task<bool> TakenByClosingSessionAsync(DurableTaskClient client, string sessionId, string turnId, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + ClosingDecisionWait;
        var delay = 25;
        while (true)
        {
            if (await client.GetInstanceAsync(InstanceIds.SessionClosing(sessionId), cancellationToken).ConfigureAwait(false) is null)
            {
                return true;
            }

            var session = await client.GetInstanceAsync(sessionId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            var ending = session is null || session.IsCompleted || session.ReadCustomStatusAs<SessionProgress>()?.Status == AgentSessionOrchestrator.Ending;
            if (ending || DateTime.UtcNow >= until)
            {
                // Past its last mailbox read: the request was not seen, unless a turn was started from it.
                return await TurnStartedAsync(client, sessionId, turnId, cancellationToken).ConfigureAwait(false);
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = Math.Min(delay * 2, 250);
        }
    }

    static async Task<bool> TurnStartedAsync(DurableTaskClient client, string sessionId, string turnId, CancellationToken cancellationToken)
    {
        var query = new OrchestrationQuery { InstanceIdPrefix = InstanceIds.TurnPrefix(sessionId), FetchInputsAndOutputs = true, PageSize = 200 };
        await foreach (var t in client.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (t.Name == AgentTurnOrchestrator.Name && t.ReadInputAs<SessionTurnInput>()?.TurnId == turnId)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Puts an end request in the mailbox (once), cancels the running turn at once, and rings.</summary>
    public static async Task EndAsync(DurableTaskClient client, string sessionId, string reason, RunningTurn? running, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var endId = InstanceIds.SessionEnd(sessionId);
        if (await client.GetInstanceAsync(endId, cancellationToken).ConfigureAwait(false) is null)
        {
            try
            {
                await client.ScheduleNewOrchestrationInstanceAsync(AgentSessionRequestOrchestrator.Name, reason, new StartOrchestrationOptions(endId), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Another end request made it first (one is enough); anything else is a real failure.
                if (await client.GetInstanceAsync(endId, cancellationToken).ConfigureAwait(false) is null)
                {
                    throw;
                }
            }
        }

        // The running turn stops now, not when the session next reads its mailbox.
        if (running is not null)
        {
            await JobEvents.RaiseAsync(client, running.InstanceId, AgentJobOrchestrator.CancelEventName, $"the session was ended: {reason}", cancellationToken)
                .ConfigureAwait(false);
        }

        await RingAsync(client, sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Wakes the session if it is idle. A doorbell that is lost delays nothing: every generation reads the mailbox.</summary>
    static Task<JobEvents.RaiseResult> RingAsync(DurableTaskClient client, string sessionId, CancellationToken cancellationToken) =>
        JobEvents.RaiseAsync(client, sessionId, AgentSessionOrchestrator.DoorbellEventName, null, cancellationToken);
}

/// <summary>What became of a turn sent to a session.</summary>
public enum TurnSent
{
    /// <summary>Accepted; it runs next.</summary>
    Next,

    /// <summary>Accepted; it waits behind a running turn or earlier requests.</summary>
    Queued,

    /// <summary>Not accepted: the session ended (for idleness, or its start failed) before it could take the turn.</summary>
    Refused,
}
