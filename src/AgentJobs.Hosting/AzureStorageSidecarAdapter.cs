using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Serialization;
using System.Diagnostics;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Tracing;
using Microsoft.DurableTask.Testing.Sidecar.Dispatcher;

namespace AgentJobs.Hosting;

/// <summary>
/// Sits between the gRPC sidecar and the Azure Storage provider and passes every call through, with three
/// corrections: the events the sidecar hands over are made storable (sidecar-specific event subclasses become their
/// Durable Task Core base type, protobuf tag maps become plain dictionaries), and a running activity's queue message
/// lock is renewed, which the sidecar never does.
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
/// Activity locks: the provider hides a dequeued activity message for <c>WorkItemQueueVisibilityTimeout</c>; the
/// sidecar's dispatcher never calls <see cref="RenewTaskActivityWorkItemLockAsync"/>, so an activity running longer
/// would be delivered again. With <c>activityLockRenewal</c> set, the lock is renewed at that interval until the
/// activity completes or is abandoned, so the visibility timeout can stay short and a killed process's activity is
/// retried soon after (<see cref="AzureStorageDurableBackend.QueueVisibilityTimeout"/>).
/// </para>
/// <para>
/// Not the cause (checked): the storage SDK versions (Azure.Data.Tables 12.11.0 and Azure.Storage.Blobs 12.27.0
/// resolve exactly as the provider's nuspec asks; Azure.Storage.Queues is pinned to 12.24.0 over its 12.22.0, a
/// compatible minor update that only touches queues), the sentinel/checkpoint row (skipped by row key), custom
/// status and large-message blobs (none of these rows are involved).
/// </para>
/// </remarks>
/// <param name="inner">The Azure Storage orchestration service.</param>
/// <param name="activityLockRenewal">How often a running activity's lock is renewed; null never renews.</param>
public sealed class AzureStorageSidecarAdapter(IOrchestrationService inner, TimeSpan? activityLockRenewal = null) : IOrchestrationService
{
    readonly ConcurrentDictionary<TaskActivityWorkItem, LockRenewal> renewals = new(ReferenceEqualityComparer.Instance);
    readonly TraceContextCarryOver traceContexts = new();

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
    public async Task StopAsync()
    {
        await StopAllRenewalsAsync().ConfigureAwait(false);
        await inner.StopAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task StopAsync(bool isForced)
    {
        await StopAllRenewalsAsync().ConfigureAwait(false);
        await inner.StopAsync(isForced).ConfigureAwait(false);
    }

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
    public async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        var workItem = await inner.LockNextTaskOrchestrationWorkItemAsync(receiveTimeout, cancellationToken).ConfigureAwait(false);
        if (workItem?.OrchestrationRuntimeState is { } state)
        {
            RelinkSubOrchestrations(state.PastEvents, state);
            RelinkSubOrchestrations(state.Events, state);
        }

        return traceContexts.Remember(workItem)!;
    }

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
        traceContexts.Apply(workItem, newOrchestrationRuntimeState);
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
    public async Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        var workItem = await inner.LockNextTaskActivityWorkItem(receiveTimeout, cancellationToken).ConfigureAwait(false);
        if (workItem is not null && activityLockRenewal is { } interval && interval > TimeSpan.Zero)
        {
            renewals[workItem] = new LockRenewal(inner, workItem, interval);
        }

        return workItem!;
    }

    /// <inheritdoc/>
    public Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem) => inner.RenewTaskActivityWorkItemLockAsync(workItem);

    /// <inheritdoc/>
    public async Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage)
    {
        if (responseMessage?.Event is { } e)
        {
            responseMessage.Event = Storable(e);
        }

        await StopRenewingAsync(workItem).ConfigureAwait(false);
        await inner.CompleteTaskActivityWorkItemAsync(workItem, responseMessage!).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem)
    {
        await StopRenewingAsync(workItem).ConfigureAwait(false);
        await inner.AbandonTaskActivityWorkItemAsync(workItem).ConfigureAwait(false);
    }

    async Task StopRenewingAsync(TaskActivityWorkItem workItem)
    {
        if (workItem is not null && renewals.TryRemove(workItem, out var renewal))
        {
            // Wait for a renewal in flight, so completing never races a visibility update of the same message.
            await renewal.StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Stops every renewal still running: activities the sidecar never completed or abandoned (a worker that went away
    /// at shutdown) would otherwise keep renewing against a stopped provider until the process exits.
    /// </summary>
    async Task StopAllRenewalsAsync()
    {
        foreach (var workItem in renewals.Keys)
        {
            await StopRenewingAsync(workItem).ConfigureAwait(false);
        }
    }

    /// <summary>Renews one activity's lock every interval until stopped.</summary>
    sealed class LockRenewal : IDisposable
    {
        readonly CancellationTokenSource stop = new();
        readonly Task loop;

        public LockRenewal(IOrchestrationService service, TaskActivityWorkItem workItem, TimeSpan interval) =>
            loop = RenewAsync(service, workItem, interval, stop.Token);

        public async Task StopAsync()
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await loop.ConfigureAwait(false);
            Dispose();
        }

        public void Dispose() => stop.Dispose();

        static async Task RenewAsync(IOrchestrationService service, TaskActivityWorkItem workItem, TimeSpan interval, CancellationToken cancellationToken)
        {
            using var timer = new PeriodicTimer(interval);
            try
            {
                while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
                {
                    try
                    {
                        await service.RenewTaskActivityWorkItemLockAsync(workItem).ConfigureAwait(false);
                    }
#pragma warning disable CA1031 // A failed renewal only means the message may be delivered again; keep trying.
                    catch (Exception) when (!cancellationToken.IsCancellationRequested)
#pragma warning restore CA1031
                    {
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped: the activity completed or was abandoned.
            }
        }
    }

    /// <summary>The event as the provider can store it: of a <c>[DataContract]</c> type, with plain-dictionary tags.</summary>
    /// <param name="e">An event from the sidecar.</param>
    /// <returns><paramref name="e"/> itself, or a copy of its <c>[DataContract]</c> base type.</returns>
    public static HistoryEvent Storable(HistoryEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var storable = AsDataContractType(e);
        PlainTags(storable);

        // The subclass's trace context is not stored; its span id is, in the base type's own field for it, so the
        // parent's client span for the sub-orchestration keeps its id when the history is read back.
        if (e is GrpcSubOrchestrationInstanceCreatedEvent { ParentTraceContext: { } context } && storable is SubOrchestrationInstanceCreatedEvent created
            && string.IsNullOrEmpty(created.ClientSpanId) && ActivityContext.TryParse(context.TraceParent, context.TraceState, out var parsed))
        {
            created.ClientSpanId = parsed.SpanId.ToHexString();
        }

        return storable;
    }

    /// <summary>
    /// Gives each stored sub-orchestration-created event back the trace context the sidecar sends the worker (only
    /// its gRPC subclass carries one): the orchestration's own trace with the stored client span id. Without it the
    /// worker names that client span anew on every read, and a run poller's spans hang from a span nobody emits.
    /// </summary>
    static void RelinkSubOrchestrations(IList<HistoryEvent> events, OrchestrationRuntimeState state)
    {
        if (state.ExecutionStartedEvent?.ParentTraceContext is not { } own
            || !ActivityContext.TryParse(own.TraceParent, own.TraceState, out var trace))
        {
            return;
        }

        for (var i = 0; i < events.Count; i++)
        {
            if (events[i] is SubOrchestrationInstanceCreatedEvent { ClientSpanId: { Length: > 0 } spanId } created and not GrpcSubOrchestrationInstanceCreatedEvent)
            {
                var relinked = (GrpcSubOrchestrationInstanceCreatedEvent)RuntimeHelpers.GetUninitializedObject(typeof(GrpcSubOrchestrationInstanceCreatedEvent));
                CopyFields(created, relinked, typeof(SubOrchestrationInstanceCreatedEvent));
                relinked.ParentTraceContext = new DistributedTraceContext(
                    $"00-{trace.TraceId.ToHexString()}-{spanId}-{(byte)trace.TraceFlags:x2}", trace.TraceState);
                events[i] = relinked;
            }
        }
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
        CopyFields(e, copy, contract);
        return (HistoryEvent)copy;
    }

    /// <summary>Copies every field <paramref name="type"/> and its base types declare from <paramref name="from"/> to <paramref name="to"/>.</summary>
    static void CopyFields(object from, object to, Type type)
    {
        for (var declaring = type; declaring is not null && declaring != typeof(object); declaring = declaring.BaseType)
        {
            foreach (var field in declaring.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                field.SetValue(to, field.GetValue(from));
            }
        }
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
