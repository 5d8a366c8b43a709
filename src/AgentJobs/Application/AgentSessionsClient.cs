using AgentJobs.Contracts;
using AgentJobs.Sessions;
using AgentJobs.Workflow;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Application;

/// <summary>
/// Agent sessions as a caller sees them, over a <see cref="DurableTaskClient"/>: start, read, send a turn, cancel or
/// decide an approval for the running turn, end, list turns. The HTTP handlers and the <c>chat</c> verb go through it,
/// so the session's orchestrator names, events and instance ids (<see cref="InstanceIds"/>) are used here, not by them.
/// Like <see cref="AgentJobsClient"/> it is a light wrapper made where the host's client is at hand.
/// </summary>
/// <param name="durable">The host's durable client.</param>
public sealed class AgentSessionsClient(DurableTaskClient durable)
{
    readonly DurableTaskClient durable = durable ?? throw new ArgumentNullException(nameof(durable));

    /// <summary>Schedules a settled session (<see cref="SessionRequests.Settle"/>); returns its id.</summary>
    public Task<string> StartAsync(SessionState state, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        return durable.ScheduleNewOrchestrationInstanceAsync(AgentSessionOrchestrator.Name, state, cancellationToken);
    }

    /// <summary>
    /// Schedules a settled session under the id an idempotency key stands for, unless the key made one already. The
    /// session continues as new, so only what the request settled is compared (not what it has done since).
    /// </summary>
    public async Task<(string Id, IdempotentStarts.Outcome Outcome)> StartKeyedAsync(SessionState state, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        var id = InstanceIds.KeyedSession(key);
        var outcome = await IdempotentStarts.ScheduleAsync(durable, AgentSessionOrchestrator.Name, state, id,
            stored => StoredJson.Deserialize<SessionState>(stored) is { } first &&
                      IdempotentStarts.Same(new { first.Template, first.IdleTimeoutSeconds, first.KeepThread }, new { state.Template, state.IdleTimeoutSeconds, state.KeepThread }),
            cancellationToken).ConfigureAwait(false);
        return (id, outcome);
    }

    /// <summary>The session's instance, or null when <paramref name="id"/> is no agent session.</summary>
    public async Task<OrchestrationMetadata?> GetAsync(string? id, bool getInputsAndOutputs, CancellationToken cancellationToken = default) =>
        string.IsNullOrWhiteSpace(id) ? null
        : await durable.GetInstanceAsync(id, getInputsAndOutputs, cancellationToken).ConfigureAwait(false) is { Name: AgentSessionOrchestrator.Name } instance ? instance
        : null;

    /// <summary>
    /// The sessions <paramref name="query"/> matches, in the backend's order (the caller sorts and pages); inputs
    /// only when the query fetches them.
    /// </summary>
    public async IAsyncEnumerable<OrchestrationMetadata> ListAsync(OrchestrationQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await foreach (var instance in durable.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // Turns and other orchestrations share the store; only sessions are listed.
            if (instance.Name == AgentSessionOrchestrator.Name)
            {
                yield return instance;
            }
        }
    }

    /// <summary>Any instance by id (a session just scheduled, whose start is waited for); null when there is none.</summary>
    public Task<OrchestrationMetadata?> GetInstanceAsync(string id, bool getInputsAndOutputs, CancellationToken cancellationToken = default) =>
        durable.GetInstanceAsync(id, getInputsAndOutputs, cancellationToken);

    /// <summary>Whether the session was asked to end (its end request is in the mailbox): it takes no more turns.</summary>
    public async Task<bool> IsEndingAsync(string id, CancellationToken cancellationToken = default) =>
        await durable.GetInstanceAsync(InstanceIds.SessionEnd(id), cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>Turn <paramref name="number"/> of the session, when it has started (any instance under that id).</summary>
    public Task<OrchestrationMetadata?> GetTurnAsync(string id, int number, CancellationToken cancellationToken = default) =>
        durable.GetInstanceAsync(InstanceIds.Turn(id, number), getInputsAndOutputs: true, cancellationToken);

    /// <summary>The started turn whose turn id is <paramref name="turnId"/>, or null.</summary>
    public async Task<OrchestrationMetadata?> FindTurnAsync(string id, string turnId, CancellationToken cancellationToken = default)
    {
        await foreach (var t in TurnsAsync(id, cancellationToken).ConfigureAwait(false))
        {
            if (StoredJson.Deserialize<SessionTurnInput>(t.SerializedInput)?.TurnId == turnId)
            {
                return t;
            }
        }

        return null;
    }

    /// <summary>Every started turn of the session, with inputs and outputs, in the store's order.</summary>
    public async IAsyncEnumerable<OrchestrationMetadata> TurnsAsync(string id, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var query = new OrchestrationQuery { InstanceIdPrefix = InstanceIds.TurnPrefix(id), FetchInputsAndOutputs = true, PageSize = 200 };
        await foreach (var t in durable.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            if (t.Name == AgentTurnOrchestrator.Name)
            {
                yield return t;
            }
        }
    }

    /// <summary>The mailbox record of turn <paramref name="turnId"/> while it waits to run (its input is the <see cref="SessionTurnEvent"/>), or null.</summary>
    public async Task<OrchestrationMetadata?> GetQueuedTurnAsync(string id, string turnId, CancellationToken cancellationToken = default) =>
        await durable.GetInstanceAsync(InstanceIds.MailboxRequest(id, turnId), getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false) is { Name: AgentSessionRequestOrchestrator.Name } waiting
            ? waiting
            : null;

    /// <summary>Puts a turn in the session's mailbox and wakes it (<see cref="SessionRequests.SendTurnAsync"/>).</summary>
    public Task<TurnSent> SendTurnAsync(string id, SessionTurnEvent turn, CancellationToken cancellationToken = default) =>
        SessionRequests.SendTurnAsync(durable, id, turn, cancellationToken);

    /// <summary>Asks the running turn (<paramref name="running"/>) to cancel its run gracefully; the session stays.</summary>
    public Task<JobEvents.RaiseResult> CancelTurnAsync(RunningTurn running, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(running);
        return JobEvents.RaiseAsync(durable, running.InstanceId, AgentJobOrchestrator.CancelEventName, reason, cancellationToken);
    }

    /// <summary>Sends a person's decision on a tool call the running turn (<paramref name="running"/>) holds.</summary>
    public Task<JobApprovals.Outcome> DecideAsync(RunningTurn running, ApprovalDecision decision, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(running);
        return JobApprovals.SendAsync(durable, running.InstanceId, AgentTurnOrchestrator.Name, decision, cancellationToken);
    }

    /// <summary>Ends the session: an end request in its mailbox, the running turn cancelled at once (<see cref="SessionRequests.EndAsync"/>).</summary>
    public Task EndAsync(string id, string reason, RunningTurn? running, CancellationToken cancellationToken = default) =>
        SessionRequests.EndAsync(durable, id, reason, running, cancellationToken);

    /// <summary>Waits for the session to end; its instance with input and output.</summary>
    public Task<OrchestrationMetadata> WaitForEndAsync(string id, CancellationToken cancellationToken = default) =>
        durable.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken);
}
