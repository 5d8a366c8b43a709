using System.Collections.Concurrent;
using AgentJobs.Contracts;
using DurableTask.Core;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Hosting;

/// <summary>
/// The in-memory backend that also records how long each orchestration execution's history grew, each time an
/// episode is saved. The stock service does not implement <c>GetOrchestrationHistoryAsync</c>, so this is how the
/// benchmark and the bounded-history tests see history sizes. The members are not virtual, so the interface is
/// re-implemented (as in <see cref="InMemoryDurableBackend.HighConcurrencyOrchestrationService"/>).
/// </summary>
/// <param name="loggerFactory">Logging for the service.</param>
/// <param name="maxConcurrentWorkItems">Work items per dispatcher; <see cref="Environment.ProcessorCount"/> reproduces the stock service.</param>
public sealed class HistoryRecordingOrchestrationService(ILoggerFactory? loggerFactory, int maxConcurrentWorkItems = InMemoryDurableBackend.MaxConcurrentWorkItems)
    : HistoryKeepingOrchestrationService(loggerFactory), IOrchestrationService
{
    readonly ConcurrentDictionary<(string InstanceId, string ExecutionId), int> largest = new();
    readonly ConcurrentDictionary<string, int> largestCustomStatus = new(StringComparer.Ordinal);

    /// <summary>The longest custom status (UTF-8 bytes of its JSON) each instance saved, over every episode.</summary>
    public IReadOnlyDictionary<string, int> LargestCustomStatuses => largestCustomStatus;

    /// <summary>The largest history each execution (generation) of each instance reached.</summary>
    public IReadOnlyDictionary<(string InstanceId, string ExecutionId), int> LargestHistories => largest;

    /// <inheritdoc cref="IOrchestrationService.MaxConcurrentTaskOrchestrationWorkItems"/>
    public new int MaxConcurrentTaskOrchestrationWorkItems => maxConcurrentWorkItems;

    /// <inheritdoc cref="IOrchestrationService.MaxConcurrentTaskActivityWorkItems"/>
    public new int MaxConcurrentTaskActivityWorkItems => maxConcurrentWorkItems;

    /// <summary>The largest history per execution of one instance.</summary>
    public IReadOnlyList<int> GenerationsOf(string instanceId) =>
        [.. largest.Where(e => e.Key.InstanceId == instanceId).Select(e => e.Value)];

    /// <summary>History events of a job and its pollers (<c>{jobId}:poll:{n}</c>), every execution.</summary>
    public int EventsOf(string jobId) =>
        largest.Where(e => e.Key.InstanceId == jobId || e.Key.InstanceId.StartsWith(InstanceIds.PollerPrefix(jobId), StringComparison.Ordinal))
               .Sum(e => e.Value);

    /// <summary>Forgets what was recorded.</summary>
    public void Clear()
    {
        largest.Clear();
        largestCustomStatus.Clear();
    }

    /// <inheritdoc cref="IOrchestrationService.CompleteTaskOrchestrationWorkItemAsync"/>
    public new Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem,
        OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState)
    {
        ArgumentNullException.ThrowIfNull(newOrchestrationRuntimeState);
        if (newOrchestrationRuntimeState.OrchestrationInstance is { } instance)
        {
            var count = newOrchestrationRuntimeState.Events.Count;
            largest.AddOrUpdate((instance.InstanceId, instance.ExecutionId), count, (_, old) => Math.Max(old, count));
            var status = System.Text.Encoding.UTF8.GetByteCount(orchestrationState.Status ?? "");
            largestCustomStatus.AddOrUpdate(instance.InstanceId, status, (_, old) => Math.Max(old, status));
        }

        return base.CompleteTaskOrchestrationWorkItemAsync(
            workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);
    }
}
