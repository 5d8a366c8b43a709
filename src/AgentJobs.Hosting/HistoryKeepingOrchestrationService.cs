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
/// Two faults of the stock service are closed, both met once finished jobs are purged:
/// <list type="bullet">
/// <item>A message for an instance that no longer exists (a job's deadline timer firing after the job was purged)
/// made the stock service dispatch an instance with no history; the dispatch failed and the message was put back, about
/// 20,000 times a second for as long as the process lived. Such messages are dropped here, as the Azure Storage
/// provider discards them.</item>
/// <item>Purging did not free the kept history, so a long-lived host grew with every job it ever ran.</item>
/// </list>
/// The members are not virtual, so the interfaces are re-implemented.
/// </summary>
/// <param name="loggerFactory">Logging for the service.</param>
public class HistoryKeepingOrchestrationService(ILoggerFactory? loggerFactory)
    : InMemoryOrchestrationService(loggerFactory), IOrchestrationService, IOrchestrationServiceClient, IOrchestrationServicePurgeClient
{
    readonly ConcurrentDictionary<string, (string? ExecutionId, HistoryEvent[] Events)> histories = new(StringComparer.OrdinalIgnoreCase);
    readonly TraceContextCarryOver traceContexts = new();
    readonly ILogger? logger = loggerFactory?.CreateLogger<HistoryKeepingOrchestrationService>();
    int droppedMessages;

    /// <inheritdoc cref="IOrchestrationService.LockNextTaskOrchestrationWorkItemAsync"/>
    public new async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        while (true)
        {
            var workItem = await base.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken).ConfigureAwait(false);
            if (workItem is { OrchestrationRuntimeState.ExecutionStartedEvent: null } && !workItem.NewMessages.Any(m => m.Event is ExecutionStartedEvent))
            {
                // Nothing to run: the instance does not exist (purged, or never started). Releasing it with its
                // messages taken drops them.
                if (logger?.IsEnabled(LogLevel.Debug) == true)
                {
                    logger.MessagesDropped(workItem.NewMessages.Count, workItem.InstanceId, string.Join(", ", workItem.NewMessages.Select(m => m.Event.EventType)));
                }

                Interlocked.Add(ref droppedMessages, workItem.NewMessages.Count);
                await base.ReleaseTaskOrchestrationWorkItemAsync(workItem).ConfigureAwait(false);
                continue;
            }

            return traceContexts.Remember(workItem)!;
        }
    }

    /// <inheritdoc cref="IOrchestrationServicePurgeClient.PurgeInstanceStateAsync(string)"/>
    public new async Task<PurgeResult> PurgeInstanceStateAsync(string instanceId)
    {
        var result = await base.PurgeInstanceStateAsync(instanceId).ConfigureAwait(false);
        if (result.DeletedInstanceCount > 0)
        {
            histories.TryRemove(instanceId, out _);
        }

        return result;
    }

    /// <inheritdoc cref="IOrchestrationServicePurgeClient.PurgeInstanceStateAsync(PurgeInstanceFilter)"/>
    public new async Task<PurgeResult> PurgeInstanceStateAsync(PurgeInstanceFilter purgeInstanceFilter)
    {
        var result = await base.PurgeInstanceStateAsync(purgeInstanceFilter).ConfigureAwait(false);
        if (result.DeletedInstanceCount > 0)
        {
            foreach (var instanceId in histories.Keys)
            {
                if (await GetOrchestrationStateAsync(instanceId, executionId: null).ConfigureAwait(false) is null)
                {
                    histories.TryRemove(instanceId, out _);
                }
            }
        }

        return result;
    }

    /// <summary>Messages dropped because their instance does not exist (e.g. timers of purged jobs).</summary>
    public int DroppedMessages => Volatile.Read(ref droppedMessages);

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
