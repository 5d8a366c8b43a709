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
    /// record after writing a turn request waits for the session's decision (see <c>SessionRequests.SendTurnAsync</c> in Application), then reads the mailbox. In this
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
