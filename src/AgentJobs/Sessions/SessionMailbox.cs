using AgentJobs.Contracts;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Sessions;

/// <summary>
/// A session's mailbox, kept in durable state rather than in the session's event buffer: each turn the API accepts is
/// an instance <c>{sessionId}:req:{turnId}</c> of <see cref="AgentSessionRequestOrchestrator"/> holding the turn, and
/// an end request is the instance <c>{sessionId}:end</c>. The session reads the mailbox at the start of every
/// generation and removes a request once its turn has run, so nothing depends on events surviving continue-as-new
/// (events the in-process sidecar forwards across continue-as-new are dropped; Azure/durabletask#720 drops events
/// raised too early on Azure Storage). The <see cref="AgentSessionOrchestrator.DoorbellEventName"/> event only wakes an
/// idle session; a lost doorbell delays nothing, because the next generation reads the mailbox anyway.
/// </summary>
public sealed class SessionMailbox(ILogger<SessionMailbox> logger)
{
    /// <summary>Reads the mailbox: the end request (if any) and the turn requests, interrupting ones first, then oldest first. Read-only, so idempotent.</summary>
    public async Task<MailboxContents> ReadAsync(DurableTaskClient client, string sessionId)
    {
        ArgumentNullException.ThrowIfNull(client);
        var end = await client.GetInstanceAsync(InstanceIds.SessionEnd(sessionId), getInputsAndOutputs: true).ConfigureAwait(false);
        var requests = new List<(DateTimeOffset CreatedAt, string Id, SessionTurnEvent Turn)>();
        var query = new OrchestrationQuery { InstanceIdPrefix = InstanceIds.MailboxPrefix(sessionId), FetchInputsAndOutputs = true, PageSize = 500 };
        await foreach (var request in client.GetAllInstancesAsync(query).ConfigureAwait(false))
        {
            if (request.Name == AgentSessionRequestOrchestrator.Name && request.ReadInputAs<SessionTurnEvent>() is { } turn)
            {
                requests.Add((request.CreatedAt, request.InstanceId, turn));
            }
        }

        logger.SessionMailboxRead(sessionId, requests.Count, end is null ? "" : ", end requested");
        return new MailboxContents(
            end is null ? null : end.ReadInputAs<string>() ?? "no reason given",
            [.. requests.OrderByDescending(r => r.Turn.Interrupting).ThenBy(r => r.CreatedAt).ThenBy(r => r.Id, StringComparer.Ordinal).Select(r => new MailboxTurn(r.Id, r.Turn))]);
    }

    /// <summary>
    /// Records that the session is ending for idleness (<see cref="InstanceIds.SessionClosing"/>, once); a caller that finds the
    /// record after writing a turn request waits for the session's decision (see <see cref="SessionRequests.SendTurnAsync"/>), then reads the mailbox. In this
    /// order a turn request written concurrently is either read here, or its writer finds the record afterwards and
    /// waits for the session's decision. Idempotent: the record is made only when missing, and the read is read-only.
    /// </summary>
    public async Task<MailboxContents> CloseAsync(DurableTaskClient client, string sessionId)
    {
        ArgumentNullException.ThrowIfNull(client);
        var closingId = InstanceIds.SessionClosing(sessionId);
        if (await client.GetInstanceAsync(closingId).ConfigureAwait(false) is null)
        {
            try
            {
                await client.ScheduleNewOrchestrationInstanceAsync(AgentSessionRequestOrchestrator.Name, "idle", new StartOrchestrationOptions(closingId)).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A retry of this activity made it first; anything else is a real failure.
                if (await client.GetInstanceAsync(closingId).ConfigureAwait(false) is null)
                {
                    throw;
                }
            }
        }

        logger.SessionIdleEndRecorded(sessionId);
        return await ReadAsync(client, sessionId).ConfigureAwait(false);
    }

    /// <summary>Removes a request whose turn has run (terminated first if its record has not finished). Idempotent.</summary>
    public async Task<bool> RemoveAsync(DurableTaskClient client, string requestId)
    {
        var removed = await DeleteRecordAsync(client, requestId, "its turn has run", CancellationToken.None).ConfigureAwait(false);
        logger.SessionTurnRequestRemoved(requestId, removed);
        return removed;
    }

    /// <summary>Deletes a mailbox record: terminated first if it has not finished (only finished instances purge). Idempotent.</summary>
    internal static async Task<bool> DeleteRecordAsync(DurableTaskClient client, string recordId, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var record = await client.GetInstanceAsync(recordId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (record is null)
        {
            return false;
        }

        if (!record.IsCompleted)
        {
            // A record completes as soon as it runs; one purged before then is made again by its start message (in
            // memory), so it is waited for, and terminated only if it does not run soon.
            using var soon = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            soon.CancelAfter(TimeSpan.FromSeconds(10));
            try
            {
                await client.WaitForInstanceCompletionAsync(recordId, soon.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await client.TerminateInstanceAsync(recordId, reason, cancellationToken).ConfigureAwait(false);
                await client.WaitForInstanceCompletionAsync(recordId, cancellationToken).ConfigureAwait(false);
            }
        }

        var purged = await client.PurgeInstanceAsync(recordId, null, cancellationToken).ConfigureAwait(false);
        return purged.PurgedInstanceCount > 0;
    }
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

/// <summary>What a session's mailbox holds.</summary>
/// <param name="EndReason">The reason of an end request, when there is one.</param>
/// <param name="Turns">Turn requests, oldest first.</param>
public sealed record MailboxContents(string? EndReason, IReadOnlyList<MailboxTurn> Turns);

/// <summary>One turn request in a mailbox.</summary>
/// <param name="RequestId">The instance that holds it.</param>
/// <param name="Turn">The turn.</param>
public sealed record MailboxTurn(string RequestId, SessionTurnEvent Turn);

/// <summary>The durable record of a turn request or an end request: it only keeps its input (see <see cref="SessionMailbox"/>).</summary>
public sealed class AgentSessionRequestOrchestrator : TaskOrchestrator<object?, bool>
{
    /// <summary>The orchestrator name.</summary>
    public const string Name = "AgentSessionRequest";

    /// <summary>Completes at once; the request is its input.</summary>
    public override Task<bool> RunAsync(TaskOrchestrationContext context, object? input) => Task.FromResult(true);
}

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
    public static (SessionState? State, Application.ValidationProblem? Problem) Settle(
        AgentSessionRequest session, Application.AgentJobRequestValidator validator, Application.AgentJobPolicy policy, Application.AgentJobsApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(validator);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(options);
        var template = new AgentJobRequest(
            "(session)", session.Instructions, session.Model, session.AgentName, session.Tools, session.ThreadId,
            MaxToolRounds: session.MaxToolRounds, MaxTotalTokens: session.MaxTotalTokens, Polling: session.Polling, Approval: session.Approval);
        if (validator.Validate(template) is { } invalid)
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
    /// Waits (at most <see cref="Workflow.JobEvents.StartWait"/>) until the session is past creating its agent and thread:
    /// true when it is, false when it ended instead (its start failed), null when it still starts after the wait.
    /// </summary>
    static async Task<bool?> StartedAsync(DurableTaskClient client, string sessionId, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + Workflow.JobEvents.StartWait;
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
            await Workflow.JobEvents.RaiseAsync(client, running.InstanceId, Workflow.AgentJobOrchestrator.CancelEventName, $"the session was ended: {reason}", cancellationToken)
                .ConfigureAwait(false);
        }

        await RingAsync(client, sessionId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Wakes the session if it is idle. A doorbell that is lost delays nothing: every generation reads the mailbox.</summary>
    static Task<Workflow.JobEvents.RaiseResult> RingAsync(DurableTaskClient client, string sessionId, CancellationToken cancellationToken) =>
        Workflow.JobEvents.RaiseAsync(client, sessionId, AgentSessionOrchestrator.DoorbellEventName, null, cancellationToken);
}
