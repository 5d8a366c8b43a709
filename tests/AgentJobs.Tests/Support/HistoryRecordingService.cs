using System.Collections.Concurrent;
using AgentJobs.Hosting;
using DurableTask.Core;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Tests.Support;

/// <summary>
/// The in-memory backend (same lifted concurrency caps as <see cref="InMemoryDurableBackend"/>) that records the
/// history length of every orchestration execution each time an episode is saved. The stock service does not
/// implement <c>GetOrchestrationHistoryAsync</c>, so this is how tests see history sizes.
/// </summary>
public sealed class HistoryRecordingService(ILoggerFactory? loggerFactory)
    : InMemoryOrchestrationService(loggerFactory), IOrchestrationService
{
    readonly ConcurrentDictionary<(string InstanceId, string ExecutionId), int> largest = new();

    /// <summary>The largest history each execution (generation) of an instance reached.</summary>
    public IReadOnlyDictionary<(string InstanceId, string ExecutionId), int> LargestHistories => largest;

    /// <summary>The largest history per execution of one instance.</summary>
    public IReadOnlyList<int> GenerationsOf(string instanceId) =>
        [.. largest.Where(e => e.Key.InstanceId == instanceId).Select(e => e.Value)];

    /// <inheritdoc cref="IOrchestrationService.MaxConcurrentTaskOrchestrationWorkItems"/>
    public new int MaxConcurrentTaskOrchestrationWorkItems => InMemoryDurableBackend.MaxConcurrentWorkItems;

    /// <inheritdoc cref="IOrchestrationService.MaxConcurrentTaskActivityWorkItems"/>
    public new int MaxConcurrentTaskActivityWorkItems => InMemoryDurableBackend.MaxConcurrentWorkItems;

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
        var instance = newOrchestrationRuntimeState.OrchestrationInstance;
        if (instance is not null)
        {
            var count = newOrchestrationRuntimeState.Events.Count;
            largest.AddOrUpdate((instance.InstanceId, instance.ExecutionId), count, (_, old) => Math.Max(old, count));
        }

        return base.CompleteTaskOrchestrationWorkItemAsync(
            workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);
    }
}
