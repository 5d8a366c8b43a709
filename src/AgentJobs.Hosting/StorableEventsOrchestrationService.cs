using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Serialization;
using DurableTask.Core;
using DurableTask.Core.History;

namespace AgentJobs.Hosting;

/// <summary>
/// Passes every call to an orchestration service, but first makes the events the gRPC sidecar hands it storable by
/// the Azure Storage provider: sidecar-specific event subclasses become their Durable Task Core base type, and
/// protobuf tag maps become plain dictionaries.
/// </summary>
/// <remarks>
/// <para>
/// Sub-orchestration history (the cause of "The TableEntity did not contain a 'EventType' property"): the sidecar
/// (Microsoft.DurableTask.InProcessTestHost, <c>Sidecar/Dispatcher/TaskOrchestrationDispatcher.cs</c>) records a
/// scheduled sub-orchestration as a <c>GrpcSubOrchestrationInstanceCreatedEvent</c>, a subclass of
/// <see cref="SubOrchestrationInstanceCreatedEvent"/> that adds a trace context but has no <see cref="DataContractAttribute"/>.
/// The provider's history-table serializer (<c>TableEntityConverter</c>, keyed by the event's runtime type) walks
/// the type hierarchy only while each type is a <c>[DataContract]</c>, so it stops at once and writes a row with no
/// properties at all: only the <c>ExecutionId</c> it adds itself, no <c>EventType</c>. The parent's history is not
/// read again until the sub-orchestration (the run poller) completes; then every load of the parent fails with that
/// message and the job never finishes. Replacing the subclass by a field-for-field copy of its nearest
/// <c>[DataContract]</c> base type before the provider sees it stores a normal <c>SubOrchestrationInstanceCreated</c>
/// row; only the sidecar's parent trace context (tracing metadata) is dropped.
/// </para>
/// <para>
/// Tags: the sidecar copies a scheduled activity's or sub-orchestration's tags as a protobuf <c>MapField</c>. The
/// provider serializes queue messages with type names, writes <c>"$type": "Google.Protobuf.Collections.MapField…"</c>,
/// and then cannot read its own message back (it resolves types in its own assembly). Plain
/// <see cref="Dictionary{TKey, TValue}"/> tags round-trip.
/// </para>
/// <para>
/// Not the cause (checked): the storage SDK versions (Azure.Data.Tables 12.11.0 and Azure.Storage.Blobs 12.27.0
/// resolve exactly as the provider's nuspec asks; Azure.Storage.Queues is pinned to 12.24.0 over its 12.22.0, a
/// compatible minor update that only touches queues), the sentinel/checkpoint row (skipped by row key), custom
/// status and large-message blobs (none of these rows are involved).
/// </para>
/// </remarks>
public sealed class StorableEventsOrchestrationService(IOrchestrationService inner) : IOrchestrationService
{
    /// <inheritdoc/>
    public int TaskOrchestrationDispatcherCount => inner.TaskOrchestrationDispatcherCount;

    /// <inheritdoc/>
    public int MaxConcurrentTaskOrchestrationWorkItems => inner.MaxConcurrentTaskOrchestrationWorkItems;

    /// <inheritdoc/>
    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => inner.EventBehaviourForContinueAsNew;

    /// <inheritdoc/>
    public int TaskActivityDispatcherCount => inner.TaskActivityDispatcherCount;

    /// <inheritdoc/>
    public int MaxConcurrentTaskActivityWorkItems => inner.MaxConcurrentTaskActivityWorkItems;

    /// <inheritdoc/>
    public Task StartAsync() => inner.StartAsync();

    /// <inheritdoc/>
    public Task StopAsync() => inner.StopAsync();

    /// <inheritdoc/>
    public Task StopAsync(bool isForced) => inner.StopAsync(isForced);

    /// <inheritdoc/>
    public Task CreateAsync() => inner.CreateAsync();

    /// <inheritdoc/>
    public Task CreateAsync(bool recreateInstanceStore) => inner.CreateAsync(recreateInstanceStore);

    /// <inheritdoc/>
    public Task CreateIfNotExistsAsync() => inner.CreateIfNotExistsAsync();

    /// <inheritdoc/>
    public Task DeleteAsync() => inner.DeleteAsync();

    /// <inheritdoc/>
    public Task DeleteAsync(bool deleteInstanceStore) => inner.DeleteAsync(deleteInstanceStore);

    /// <inheritdoc/>
    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) =>
        inner.IsMaxMessageCountExceeded(currentMessageCount, runtimeState);

    /// <inheritdoc/>
    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => inner.GetDelayInSecondsAfterOnProcessException(exception);

    /// <inheritdoc/>
    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => inner.GetDelayInSecondsAfterOnFetchException(exception);

    /// <inheritdoc/>
    public Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken);

    /// <inheritdoc/>
    public Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem) => inner.RenewTaskOrchestrationWorkItemLockAsync(workItem);

    /// <inheritdoc/>
    public Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem,
        OrchestrationRuntimeState newOrchestrationRuntimeState,
        IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages,
        IList<TaskMessage> timerMessages,
        TaskMessage continuedAsNewMessage,
        OrchestrationState orchestrationState)
    {
        ArgumentNullException.ThrowIfNull(newOrchestrationRuntimeState);
        for (var i = 0; i < newOrchestrationRuntimeState.NewEvents.Count; i++)
        {
            var original = newOrchestrationRuntimeState.NewEvents[i];
            var storable = Storable(original);
            if (!ReferenceEquals(storable, original))
            {
                // The same object sits in Events, which the provider uses for row keys and keeps in its session cache.
                newOrchestrationRuntimeState.NewEvents[i] = storable;
                var index = IndexOfReference(newOrchestrationRuntimeState.Events, original);
                if (index >= 0)
                {
                    newOrchestrationRuntimeState.Events[index] = storable;
                }
            }
        }

        foreach (var message in (outboundMessages ?? []).Concat(orchestratorMessages ?? []).Concat(timerMessages ?? []).Append(continuedAsNewMessage))
        {
            if (message?.Event is { } e)
            {
                message.Event = Storable(e);
            }
        }

        return inner.CompleteTaskOrchestrationWorkItemAsync(
            workItem, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, continuedAsNewMessage, orchestrationState);
    }

    /// <inheritdoc/>
    public Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.AbandonTaskOrchestrationWorkItemAsync(workItem);

    /// <inheritdoc/>
    public Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem) => inner.ReleaseTaskOrchestrationWorkItemAsync(workItem);

    /// <inheritdoc/>
    public Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
        inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken);

    /// <inheritdoc/>
    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem) => inner.RenewTaskActivityWorkItemLockAsync(workItem);

    /// <inheritdoc/>
    public Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage)
    {
        if (responseMessage?.Event is { } e)
        {
            responseMessage.Event = Storable(e);
        }

        return inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage);
    }

    /// <inheritdoc/>
    public Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) => inner.AbandonTaskActivityWorkItemAsync(workItem);

    /// <summary>The event as the provider can store it: of a <c>[DataContract]</c> type, with plain-dictionary tags.</summary>
    /// <param name="e">An event from the sidecar.</param>
    /// <returns><paramref name="e"/> itself, or a copy of its <c>[DataContract]</c> base type.</returns>
    public static HistoryEvent Storable(HistoryEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var storable = AsDataContractType(e);
        PlainTags(storable);
        return storable;
    }

    static HistoryEvent AsDataContractType(HistoryEvent e)
    {
        var type = e.GetType();
        var contract = type;
        while (contract is not null && contract.GetCustomAttribute<DataContractAttribute>(inherit: false) is null)
        {
            contract = contract.BaseType;
        }

        if (contract is null || contract == type || contract.IsAbstract || !typeof(HistoryEvent).IsAssignableFrom(contract))
        {
            return e;
        }

        // Every field the base types declare (the [DataMember] properties' backing fields included), none of the subclass's.
        var copy = RuntimeHelpers.GetUninitializedObject(contract);
        for (var declaring = contract; declaring is not null && declaring != typeof(object); declaring = declaring.BaseType)
        {
            foreach (var field in declaring.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                field.SetValue(copy, field.GetValue(e));
            }
        }

        return (HistoryEvent)copy;
    }

    static int IndexOfReference(IList<HistoryEvent> events, HistoryEvent e)
    {
        for (var i = events.Count - 1; i >= 0; i--)
        {
            if (ReferenceEquals(events[i], e))
            {
                return i;
            }
        }

        return -1;
    }

    static void PlainTags(HistoryEvent e)
    {
        var property = e.GetType().GetProperty("Tags", BindingFlags.Public | BindingFlags.Instance);
        if (property is { CanWrite: true } &&
            property.GetValue(e) is IDictionary<string, string> tags &&
            tags.GetType() != typeof(Dictionary<string, string>))
        {
            property.SetValue(e, new Dictionary<string, string>(tags, StringComparer.Ordinal));
        }
    }
}
