using AgentJobs.Batches;
using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Application;

/// <summary>
/// Agent batches as a caller sees them, over a <see cref="DurableTaskClient"/>: settle and schedule, read the batch
/// and its items, cancel. The HTTP handlers and <c>run --batch</c> go through it, so the batch's orchestrator name,
/// events and item ids (<see cref="InstanceIds.BatchItem"/>) are used here, not by them. Like
/// <see cref="AgentJobsClient"/> it is a light wrapper made where the host's client is at hand.
/// </summary>
/// <param name="durable">The host's durable client.</param>
/// <param name="policy">Settles the batch's shared settings into the spec each item runs with.</param>
public sealed class AgentBatchesClient(DurableTaskClient durable, AgentJobPolicy policy)
{
    readonly DurableTaskClient durable = durable ?? throw new ArgumentNullException(nameof(durable));
    readonly AgentJobPolicy policy = policy ?? throw new ArgumentNullException(nameof(policy));

    /// <summary>
    /// A validated batch as the orchestrator takes it. Every item's request is the template with its prompt: settling
    /// the template settles each item alike.
    /// </summary>
    public AgentBatchWork Settle(AgentBatchRequest batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var template = policy.Settle(batch.Item(""));
        return new AgentBatchWork(template, batch.Prompts!, batch.MaxParallel ?? AgentBatchLimits.DefaultMaxParallel);
    }

    /// <summary>Schedules a settled batch; returns its id.</summary>
    public Task<string> StartAsync(AgentBatchWork work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        return durable.ScheduleNewOrchestrationInstanceAsync(AgentBatchOrchestrator.Name, work, cancellationToken);
    }

    /// <summary>
    /// Schedules a settled batch under the id an idempotency key stands for, unless the key made one already. The batch
    /// continues as new, so only what the request settled is compared (not its progress).
    /// </summary>
    public async Task<(string Id, IdempotentStarts.Outcome Outcome)> StartKeyedAsync(AgentBatchWork work, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var id = InstanceIds.KeyedBatch(key);
        var outcome = await IdempotentStarts.ScheduleAsync(durable, AgentBatchOrchestrator.Name, work, id,
            stored => StoredJson.Deserialize<AgentBatchWork>(stored) is { } first &&
                      IdempotentStarts.Same(new { first.Template, first.Prompts, first.MaxParallel }, new { work.Template, work.Prompts, work.MaxParallel }),
            cancellationToken).ConfigureAwait(false);
        return (id, outcome);
    }

    /// <summary>The batch's instance with its input, output and progress, or null when <paramref name="id"/> is no agent batch.</summary>
    public async Task<OrchestrationMetadata?> GetAsync(string? id, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(id) || InstanceIds.IsOwned(id))
        {
            return null;
        }

        var instance = await durable.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        return instance?.Name == AgentBatchOrchestrator.Name ? instance : null;
    }

    /// <summary>The job id of item <paramref name="index"/> of batch <paramref name="batchId"/>.</summary>
    public static string ItemId(string batchId, int index) => InstanceIds.BatchItem(batchId, index);

    /// <summary>Item <paramref name="index"/>'s job instance; null when it has not started or was purged.</summary>
    public Task<OrchestrationMetadata?> GetItemAsync(string batchId, int index, bool getInputsAndOutputs, CancellationToken cancellationToken = default) =>
        durable.GetInstanceAsync(ItemId(batchId, index), getInputsAndOutputs, cancellationToken);

    /// <summary>Asks a running batch to cancel: no more items start (<see cref="AgentBatchOrchestrator.CancelEventName"/>).</summary>
    public Task<JobEvents.RaiseResult> CancelAsync(string id, string reason, CancellationToken cancellationToken = default) =>
        JobEvents.RaiseAsync(durable, id, AgentBatchOrchestrator.CancelEventName, reason, cancellationToken);

    /// <summary>
    /// Sends the job's cancel event to each of the batch's <paramref name="running"/> items that has not finished. The
    /// batch does the same, but an item that had not started when the batch's event arrived would miss it.
    /// </summary>
    public Task CancelItemsAsync(string id, IEnumerable<int> running, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(running);
        return Task.WhenAll(running.Select(async index =>
        {
            var itemId = ItemId(id, index);
            var item = await durable.GetInstanceAsync(itemId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
            if (item is { IsCompleted: false })
            {
                await JobEvents.RaiseAsync(durable, itemId, AgentJobOrchestrator.CancelEventName, reason, cancellationToken).ConfigureAwait(false);
            }
        }));
    }
}
