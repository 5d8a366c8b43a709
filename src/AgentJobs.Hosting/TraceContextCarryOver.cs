using System.Diagnostics;
using System.Runtime.CompilerServices;
using DurableTask.Core;
using DurableTask.Core.Tracing;

namespace AgentJobs.Hosting;

/// <summary>
/// Keeps an orchestration in its trace across continue-as-new. The sidecar's dispatcher (in-process test host
/// package) starts the next generation with an <see cref="DurableTask.Core.History.ExecutionStartedEvent"/> that has
/// no <c>ParentTraceContext</c>, so every later generation of a run poller (one per <c>pollsPerGeneration</c> polls)
/// dropped out of the job's trace: its polls were not traced at all. Durable Task Core keeps the context by default
/// (<c>ContinueAsNewTraceBehavior.PreserveTraceContext</c>); this does the same where the orchestration services meet
/// the sidecar: the context a work item was locked with is given to the new generation when its state is saved,
/// with a span id and start time for the new generation's orchestration span.
/// </summary>
public sealed class TraceContextCarryOver
{
    readonly ConditionalWeakTable<TaskOrchestrationWorkItem, Locked> locked = [];

    /// <summary>Remembers the execution and trace context <paramref name="workItem"/> was locked with.</summary>
    public TaskOrchestrationWorkItem? Remember(TaskOrchestrationWorkItem? workItem)
    {
        if (workItem?.OrchestrationRuntimeState?.ExecutionStartedEvent is { ParentTraceContext: { } context } started)
        {
            locked.AddOrUpdate(workItem, new Locked(started.OrchestrationInstance?.ExecutionId, context));
        }

        return workItem;
    }

    /// <summary>
    /// Gives a new generation (another execution id, no trace context) of <paramref name="workItem"/> the context
    /// its previous generation ran in.
    /// </summary>
    public void Apply(TaskOrchestrationWorkItem workItem, OrchestrationRuntimeState newState)
    {
        ArgumentNullException.ThrowIfNull(workItem);
        ArgumentNullException.ThrowIfNull(newState);
        if (locked.TryGetValue(workItem, out var previous)
            && newState.ExecutionStartedEvent is { ParentTraceContext: null } started
            && started.OrchestrationInstance?.ExecutionId != previous.ExecutionId)
        {
            started.ParentTraceContext = new DistributedTraceContext(previous.Context.TraceParent, previous.Context.TraceState)
            {
                SpanId = ActivitySpanId.CreateRandom().ToHexString(),
                ActivityStartTime = DateTimeOffset.UtcNow,
            };
        }
    }

    sealed record Locked(string? ExecutionId, DistributedTraceContext Context);
}
