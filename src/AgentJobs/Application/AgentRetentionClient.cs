using AgentJobs.Contracts;
using AgentJobs.Retention;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Application;

/// <summary>
/// Purging and the retention schedule as a caller sees them, over a <see cref="DurableTaskClient"/>: find finished
/// instances and what an owner owns, purge one instance, start the Functions app's schedule. <see cref="JobPurger"/>
/// decides what may go; this only reads and purges. A light wrapper made where the host's client is at hand.
/// </summary>
/// <param name="durable">The host's durable client.</param>
public sealed class AgentRetentionClient(DurableTaskClient durable)
{
    readonly DurableTaskClient durable = durable ?? throw new ArgumentNullException(nameof(durable));

    /// <summary>Any instance by id, without inputs; null when there is none.</summary>
    public Task<OrchestrationMetadata?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        durable.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken);

    /// <summary>
    /// Every finished (completed, failed or terminated) instance created before <paramref name="createdTo"/>, without
    /// inputs, in the backend's order. Created before is necessary for finished before; the caller decides.
    /// </summary>
    public async IAsyncEnumerable<OrchestrationMetadata> ListFinishedAsync(DateTimeOffset createdTo, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var query = new OrchestrationQuery
        {
            CreatedTo = createdTo,
            Statuses = [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated],
            PageSize = 500,
            FetchInputsAndOutputs = false,
        };
        await foreach (var instance in durable.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return instance;
        }
    }

    /// <summary>Every instance <paramref name="ownerId"/> owns (<see cref="InstanceIds.OwnedPrefix"/>), without inputs.</summary>
    public async IAsyncEnumerable<OrchestrationMetadata> ListOwnedAsync(string ownerId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var query = new OrchestrationQuery { InstanceIdPrefix = InstanceIds.OwnedPrefix(ownerId), PageSize = 500, FetchInputsAndOutputs = false };
        await foreach (var instance in durable.GetAllInstancesAsync(query).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            yield return instance;
        }
    }

    /// <summary>Purges one instance's durable state; the number of instances removed (0 when it was gone).</summary>
    public async Task<int> PurgeAsync(string id, CancellationToken cancellationToken = default) =>
        (await durable.PurgeInstanceAsync(id, cancellation: cancellationToken).ConfigureAwait(false)).PurgedInstanceCount;

    /// <summary>
    /// Starts the <see cref="RetentionScheduleOrchestrator"/> (its one instance) purging every
    /// <paramref name="intervalMinutes"/> unless it runs; true when this call started it.
    /// </summary>
    public async Task<bool> EnsureScheduleAsync(int intervalMinutes, CancellationToken cancellationToken = default)
    {
        var instance = await durable.GetInstanceAsync(RetentionScheduleOrchestrator.InstanceId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (instance is not null && !instance.IsCompleted)
        {
            return false;
        }

        await durable.ScheduleNewOrchestrationInstanceAsync(
            RetentionScheduleOrchestrator.Name,
            intervalMinutes,
            new StartOrchestrationOptions { InstanceId = RetentionScheduleOrchestrator.InstanceId },
            cancellationToken).ConfigureAwait(false);
        return true;
    }
}
