using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.DurableTask;

namespace AgentJobs.Batches;

/// <summary>
/// A batch of agent jobs: each prompt runs as a sub-orchestration of the existing job orchestrator
/// (<see cref="AgentJobOrchestrator"/>, instance id <c>&lt;batchId&gt;:item:&lt;n&gt;</c>), at most
/// <see cref="AgentBatchWork.MaxParallel"/> at a time; a new item starts as soon as one ends.
/// </summary>
/// <remarks>
/// <para>
/// Bounded history: one generation starts at most <see cref="ItemsPerGeneration"/> items, waits for them all, and
/// continues as new with the counts so far (running items are never carried across a continue-as-new, so no
/// completion can arrive at a generation that did not start it). A generation's history is about four events per
/// item (created, completed and the episode around it), so ≈ 400–500 events whatever the batch's size; 1,000 items
/// make 10 generations. The cost is a short drain at the end of each generation.
/// </para>
/// <para>
/// Cancel: the <see cref="CancelEventName"/> event stops new starts and sends each running item the job's own
/// <see cref="AgentJobOrchestrator.CancelEventName"/> event, so every item still cancels its run and deletes its
/// agent; items never started are counted as <see cref="AgentBatchProgress.NotStarted"/>. The API also raises the
/// job's event on the items it sees running (<see cref="JobEvents.RaiseAsync"/>), which covers an item that had
/// not started when the batch's event reached it.
/// </para>
/// </remarks>
public sealed class AgentBatchOrchestrator : TaskOrchestrator<AgentBatchWork, AgentBatchProgress>
{
    /// <summary>The orchestrator name.</summary>
    public const string Name = "AgentBatch";

    /// <summary>The external event that cancels a batch (payload: a reason).</summary>
    public const string CancelEventName = "CancelBatch";

    /// <summary>Items one generation starts before it continues as new.</summary>
    public const int ItemsPerGeneration = 100;

    /// <summary>The orchestration.</summary>
    public override async Task<AgentBatchProgress> RunAsync(TaskOrchestrationContext context, AgentBatchWork input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        EnsureSettled(input);
        var outcomes = new SortedDictionary<string, int>(input.Outcomes?.ToDictionary() ?? [], StringComparer.Ordinal);
        var next = input.NextIndex;
        var cancelReason = input.CancelReason;
        var generationEnd = Math.Min(input.Prompts.Count, next + ItemsPerGeneration);
        var running = new List<(int Index, Task<AgentJobResult> Job)>();
        var cancel = cancelReason is null ? context.WaitForExternalEvent<string>(CancelEventName) : null;

        void Report(bool done = false) => context.SetCustomStatus(Progress(input, next, outcomes, running, cancelReason, done));

        void StartMore()
        {
            while (cancelReason is null && next < generationEnd && running.Count < input.MaxParallel)
            {
                var index = next++;
                running.Add((index, context.CallSubOrchestratorAsync<AgentJobResult>(
                    AgentJobOrchestrator.Name,
                    input.Template with { Prompt = input.Prompts[index] },
                    new SubOrchestrationOptions { InstanceId = InstanceIds.BatchItem(context.InstanceId, index) })));
            }

            Report();
        }

        // Bounded: at most ItemsPerGeneration items start in this loop, each ends once, and a cancel ends starting.
        StartMore();
        while (running.Count > 0)
        {
            Task finished = cancel is null
                ? await Task.WhenAny(running.Select(r => r.Job))
                : await Task.WhenAny(running.Select(r => (Task)r.Job).Append(cancel));
            if (finished == cancel)
            {
                cancelReason = string.IsNullOrWhiteSpace(cancel.Result) ? "batch cancelled" : cancel.Result;
                cancel = null;
                CancelRunning(context, running, cancelReason);
                Report();
                continue;
            }

            var item = running.First(r => r.Job == finished);
            running.Remove(item);
            var outcome = await OutcomeAsync(context, item);
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            StartMore();
        }

        return End(context, input, next, outcomes, running, cancelReason);
    }

    static void EnsureSettled(AgentBatchWork input)
    {
        if (!input.Template.IsComplete)
        {
            throw new InvalidOperationException("The batch's shared job settings were not settled; schedule batches through the API, which settles them with AgentJobPolicy.");
        }
    }

    /// <summary>Sends each running item the job's own cancel, so every item still cancels its run and deletes its agent.</summary>
    static void CancelRunning(TaskOrchestrationContext context, List<(int Index, Task<AgentJobResult> Job)> running, string cancelReason)
    {
        var log = context.CreateReplaySafeLogger<AgentBatchOrchestrator>();
        log.BatchCancelling(context.InstanceId, cancelReason, running.Count);
        foreach (var (index, _) in running.OrderBy(r => r.Index))
        {
            context.SendEvent(InstanceIds.BatchItem(context.InstanceId, index), AgentJobOrchestrator.CancelEventName, cancelReason);
        }
    }

    /// <summary>The outcome an ended item counts under: its job's outcome, or <see cref="AgentBatchOutcomes.OrchestrationFailed"/>.</summary>
    static async Task<string> OutcomeAsync(TaskOrchestrationContext context, (int Index, Task<AgentJobResult> Job) item)
    {
        try
        {
            return (await item.Job).Outcome.ToString();
        }
        catch (TaskFailedException ex)
        {
            var log = context.CreateReplaySafeLogger<AgentBatchOrchestrator>();
            log.BatchItemFailed(context.InstanceId, item.Index, ex.FailureDetails.ErrorMessage);
            return AgentBatchOutcomes.OrchestrationFailed;
        }
    }

    /// <summary>Continues as new with the items left, or, once every item has started (or the batch was cancelled), ends it.</summary>
    static AgentBatchProgress End(
        TaskOrchestrationContext context, AgentBatchWork input, int next, SortedDictionary<string, int> outcomes, List<(int Index, Task<AgentJobResult> Job)> running, string? cancelReason)
    {
        if (cancelReason is null && next < input.Prompts.Count)
        {
            // Every item of this generation has ended: nothing in flight crosses into the next one.
            context.ContinueAsNew(
                input with { NextIndex = next, Outcomes = outcomes, Generation = input.Generation + 1 },
                preserveUnprocessedEvents: true);
            return Progress(input, next, outcomes, running, cancelReason, done: false);
        }

        var result = Progress(input, next, outcomes, running, cancelReason, done: true);
        context.SetCustomStatus(result);
        var log = context.CreateReplaySafeLogger<AgentBatchOrchestrator>();
        log.BatchDone(context.InstanceId, result.Finished, result.Total);
        return result;
    }

    static AgentBatchProgress Progress(
        AgentBatchWork input, int next, SortedDictionary<string, int> outcomes, List<(int Index, Task<AgentJobResult> Job)> running, string? cancelReason, bool done) =>
        new(
            input.Prompts.Count,
            next,
            outcomes.Values.Sum(),
            [.. running.Select(r => r.Index).Order()],
            new SortedDictionary<string, int>(outcomes, StringComparer.Ordinal),
            done ? input.Prompts.Count - next : 0,
            cancelReason,
            input.Generation,
            done);
}
