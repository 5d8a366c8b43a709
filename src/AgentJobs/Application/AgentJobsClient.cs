using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Application;

/// <summary>
/// Agent jobs as a caller sees them, over a <see cref="DurableTaskClient"/>: settle and schedule, read, cancel, decide
/// approvals, wait. The HTTP handlers and the CLI verbs go through it, so the orchestrator's name, its events and its
/// input type are written here once. A host's durable client is per call in Functions, so this is a light wrapper
/// made where the client is at hand.
/// </summary>
/// <param name="durable">The host's durable client.</param>
/// <param name="policy">Settles requests into the spec the job runs with.</param>
public sealed class AgentJobsClient(DurableTaskClient durable, AgentJobPolicy policy)
{
    readonly DurableTaskClient durable = durable ?? throw new ArgumentNullException(nameof(durable));
    readonly AgentJobPolicy policy = policy ?? throw new ArgumentNullException(nameof(policy));

    /// <summary>A validated request with every default filled in (<see cref="AgentJobPolicy.Settle"/>).</summary>
    public AgentJobSpec Settle(AgentJobRequest request) => policy.Settle(request);

    /// <summary>Settles a validated request and schedules its job; returns the job id.</summary>
    public Task<string> StartAsync(AgentJobRequest request, CancellationToken cancellationToken = default) =>
        ScheduleAsync(Settle(request), instanceId: null, cancellationToken);

    /// <summary>Schedules a settled job, as <paramref name="instanceId"/> when given; returns the job id.</summary>
    public Task<string> ScheduleAsync(AgentJobSpec spec, string? instanceId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return durable.ScheduleNewOrchestrationInstanceAsync(
            AgentJobOrchestrator.Name, spec, instanceId is null ? null : new StartOrchestrationOptions(instanceId), cancellationToken);
    }

    /// <summary>
    /// Schedules a settled job under the id an idempotency key stands for, unless the key made a job already: a retry
    /// of the same request finds it (<see cref="IdempotentStarts.Outcome.Replayed"/>), another request is a
    /// <see cref="IdempotentStarts.Outcome.Conflict"/>. Requests are compared as settled.
    /// </summary>
    public async Task<(string Id, IdempotentStarts.Outcome Outcome)> StartKeyedAsync(AgentJobSpec spec, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var instanceId = InstanceIds.KeyedJob(key);
        var outcome = await IdempotentStarts.ScheduleAsync(durable, AgentJobOrchestrator.Name, spec, instanceId,
            stored => IdempotentStarts.Same(StoredJson.Deserialize<AgentJobSpec>(stored), spec), cancellationToken).ConfigureAwait(false);
        return (instanceId, outcome);
    }

    /// <summary>The job's instance, or null when <paramref name="id"/> is no agent job.</summary>
    public async Task<OrchestrationMetadata?> GetAsync(string? id, bool getInputsAndOutputs, CancellationToken cancellationToken = default) =>
        string.IsNullOrWhiteSpace(id) ? null
        : await durable.GetInstanceAsync(id, getInputsAndOutputs, cancellationToken).ConfigureAwait(false) is { Name: AgentJobOrchestrator.Name } instance ? instance
        : null;

    /// <summary>
    /// The agent jobs <paramref name="query"/> matches, in the backend's order (the caller sorts and pages); inputs
    /// only when the query fetches them.
    /// </summary>
    public async IAsyncEnumerable<OrchestrationMetadata> ListAsync(OrchestrationQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        await foreach (var instance in durable.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // Run pollers and other orchestrations share the store; only jobs are listed.
            if (instance.Name == AgentJobOrchestrator.Name)
            {
                yield return instance;
            }
        }
    }

    /// <summary>Any instance by id (a job's poller, for its live progress); null when there is none.</summary>
    public Task<OrchestrationMetadata?> GetInstanceAsync(string id, bool getInputsAndOutputs, CancellationToken cancellationToken = default) =>
        durable.GetInstanceAsync(id, getInputsAndOutputs, cancellationToken);

    /// <summary>Asks a running job to cancel its run gracefully (<see cref="AgentJobOrchestrator.CancelEventName"/>).</summary>
    public Task<JobEvents.RaiseResult> CancelAsync(string id, string reason, CancellationToken cancellationToken = default) =>
        JobEvents.RaiseAsync(durable, id, AgentJobOrchestrator.CancelEventName, reason, cancellationToken);

    /// <summary>Sends a person's decision on a held tool call of job <paramref name="id"/>.</summary>
    public Task<JobApprovals.Outcome> DecideAsync(string id, ApprovalDecision decision, CancellationToken cancellationToken = default) =>
        JobApprovals.SendAsync(durable, id, AgentJobOrchestrator.Name, decision, cancellationToken);

    /// <summary>Waits for the job to end; its instance with input and output.</summary>
    public Task<OrchestrationMetadata> WaitForEndAsync(string id, CancellationToken cancellationToken = default) =>
        durable.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken);
}
