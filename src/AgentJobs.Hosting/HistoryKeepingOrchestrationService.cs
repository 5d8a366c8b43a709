using System.Collections.Concurrent;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Serializing;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Hosting;

/// <summary>
/// The in-memory orchestration service with the one client call it lacks: <c>GetOrchestrationHistoryAsync</c>, which
/// the sidecar's <c>StreamInstanceHistory</c> (and so <c>DurableTaskClient.GetOrchestrationHistoryAsync</c>) needs and
/// the stock service does not implement. The history of each instance's current execution is kept as it is saved
/// after every episode, and returned in the form the sidecar reads (Durable Task Core's JSON with type names), as the
/// Azure Storage provider does. It also keeps a continued-as-new orchestration in its trace (<see cref="TraceContextCarryOver"/>).
/// The members are not virtual, so the interfaces are re-implemented.
/// </summary>
/// <param name="loggerFactory">Logging for the service.</param>
public class HistoryKeepingOrchestrationService(ILoggerFactory? loggerFactory)
    : InMemoryOrchestrationService(loggerFactory), IOrchestrationService, IOrchestrationServiceClient
{
    readonly ConcurrentDictionary<string, (string? ExecutionId, HistoryEvent[] Events)> histories = new(StringComparer.OrdinalIgnoreCase);
    readonly TraceContextCarryOver traceContexts = new();

    /// <inheritdoc cref="IOrchestrationService.LockNextTaskOrchestrationWorkItemAsync"/>
    public new async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        traceContexts.Remember(await base.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken).ConfigureAwait(false))!;

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
        traceContexts.Apply(workItem, newOrchestrationRuntimeState);

        // A history only grows within an execution; a later save with fewer events (the service hands the dispatcher an
        // emptied state once an instance has finished) does not replace it.
        if (newOrchestrationRuntimeState.ExecutionStartedEvent is not null
            && newOrchestrationRuntimeState.OrchestrationInstance?.InstanceId is { } instanceId)
        {
            var executionId = newOrchestrationRuntimeState.OrchestrationInstance.ExecutionId;
            HistoryEvent[] events = [.. newOrchestrationRuntimeState.Events];
            histories.AddOrUpdate(
                instanceId,
                (executionId, events),
                (_, old) => old.ExecutionId != executionId || events.Length >= old.Events.Length ? (executionId, events) : old);
        }

        return base.CompleteTaskOrchestrationWorkItemAsync(
            workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);
    }

    /// <inheritdoc cref="IOrchestrationServiceClient.GetOrchestrationHistoryAsync"/>
    public new Task<string?> GetOrchestrationHistoryAsync(string instanceId, string executionId) =>
        Task.FromResult(histories.TryGetValue(instanceId, out var kept) ? JsonDataConverter.Default.Serialize(kept.Events.ToList()) : null);
}
