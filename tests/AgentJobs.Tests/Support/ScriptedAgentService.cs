using System.Collections.Concurrent;
using AgentJobs.AgentService;
using AgentJobs.Contracts;

namespace AgentJobs.Tests.Support;

/// <summary>
/// A fake behind our own port: each run follows a script of statuses, one per poll. It records every call so
/// tests can assert what the workflow did (e.g. delete called exactly once per created agent).
/// </summary>
public sealed class ScriptedAgentService : IAgentService
{
    readonly ConcurrentDictionary<string, AgentDefinition> agents = new();
    readonly ConcurrentDictionary<string, RunScript> runs = new();
    readonly ConcurrentDictionary<string, List<JobMessage>> threads = new();
    readonly ConcurrentQueue<(string Operation, string Target, DateTime At)> calls = new();
    readonly ConcurrentDictionary<string, Queue<Exception>> faults = new();
    int counter;
    bool paused;

    /// <summary>Builds the script of a run from the user's prompt (default: in_progress twice, then completed).</summary>
    public Func<string, IReadOnlyList<ScriptStep>> Script { get; set; } =
        _ => [ScriptStep.Of("in_progress"), ScriptStep.Of("in_progress"), ScriptStep.Of("completed")];

    /// <summary>Poll-after hint returned on every run read, if set.</summary>
    public int? PollAfterMs { get; set; }

    /// <summary>While true, run reads return the current status without moving along the script (a run that "thinks").</summary>
    public bool Paused
    {
        get => Volatile.Read(ref paused);
        set => Volatile.Write(ref paused, value);
    }

    /// <summary>
    /// Awaited at the start of every call with the operation and a tag naming what it acts on: the agent's name
    /// (CreateAgent, DeleteAgent), the idempotency key (CreateThread), the thread id (every other call). A test can
    /// hold a call there, or throw to make the service refuse it, for one job among many running at once.
    /// </summary>
    public Func<string, string, Task>? Before { get; set; }

    /// <summary>
    /// When true, a start creates its run (findable by its key, as a streamed start's is) and then answers an error: the
    /// run exists on the service though the workflow never saw it (a dropped stream, a lost answer).
    /// </summary>
    public bool StartFailsAfterCreatingRun { get; set; }

    /// <summary>When true, a start on a thread whose last run has not ended is refused with 400, as real services do.</summary>
    public bool OneRunPerThread { get; set; }

    async Task BeforeAsync(string operation, string tag)
    {
        if (Before is { } before)
        {
            await before(operation, tag);
        }
    }

    /// <summary>When true, the agent disappears on the service before the workflow deletes it (delete returns false).</summary>
    public bool AgentsVanishBeforeDelete { get; set; }

    /// <summary>Every call, in order.</summary>
    public IReadOnlyList<(string Operation, string Target, DateTime At)> Calls => [.. calls];

    /// <summary>Agents created and not deleted.</summary>
    public IReadOnlyCollection<string> LiveAgents => [.. agents.Keys];

    /// <summary>The definitions agents were created with.</summary>
    public ConcurrentDictionary<string, AgentDefinition> CreatedAgents { get; } = new();

    /// <summary>Tool outputs submitted, per run.</summary>
    public ConcurrentDictionary<string, List<IReadOnlyList<ToolOutput>>> Submissions { get; } = new();

    /// <summary>Makes the next <paramref name="count"/> calls of <paramref name="operation"/> throw.</summary>
    public void Fail(string operation, int count, Func<Exception> exception)
    {
        var queue = faults.GetOrAdd(operation, _ => new Queue<Exception>());
        lock (queue)
        {
            for (var i = 0; i < count; i++)
            {
                queue.Enqueue(exception());
            }
        }
    }

    /// <summary>The runs started on a thread, with their current status.</summary>
    public IReadOnlyList<(string RunId, string Status)> RunsOn(string threadId) =>
        [.. runs.Where(r => r.Value.ThreadId == threadId).Select(r => (r.Key, r.Value.Current.Status))];

    /// <summary>How many times an operation was called.</summary>
    public int Count(string operation) => calls.Count(c => c.Operation == operation);

    /// <summary>When each call of an operation was made, in order.</summary>
    public IReadOnlyList<DateTime> Times(string operation) => [.. calls.Where(c => c.Operation == operation).Select(c => c.At)];

    /// <summary>The gaps between consecutive calls of an operation, in milliseconds.</summary>
    public IReadOnlyList<double> Gaps(string operation)
    {
        var times = Times(operation);
        return [.. times.Zip(times.Skip(1), (a, b) => (b - a).TotalMilliseconds)];
    }

    public async Task<AgentRef> CreateAgentAsync(AgentDefinition definition, string idempotencyKey, CancellationToken cancellationToken)
    {
        Record("CreateAgent", definition.Name);
        await BeforeAsync("CreateAgent", definition.Name);
        var id = $"asst_{Interlocked.Increment(ref counter)}";
        agents[id] = definition;
        CreatedAgents[id] = definition;
        return new AgentRef(id, definition.Name);
    }

    /// <summary>Awaited when a delete of an agent arrives, before it is deleted (a service slow to delete).</summary>
    public Func<Task>? BeforeDeleteAgent { get; set; }

    public async Task<bool> DeleteAgentAsync(AgentRef agent, CancellationToken cancellationToken)
    {
        Record("DeleteAgent", agent.Id);
        await BeforeAsync("DeleteAgent", agent.Name);
        if (BeforeDeleteAgent is { } before)
        {
            await before();
        }

        if (AgentsVanishBeforeDelete)
        {
            agents.TryRemove(agent.Id, out _);
        }

        return agents.TryRemove(agent.Id, out _);
    }

    public async Task<string> CreateThreadAsync(string idempotencyKey, CancellationToken cancellationToken)
    {
        Record("CreateThread", idempotencyKey);
        await BeforeAsync("CreateThread", idempotencyKey);
        var id = $"thread_{Interlocked.Increment(ref counter)}";
        threads[id] = [];
        return id;
    }

    public async Task<bool> DeleteThreadAsync(string threadId, CancellationToken cancellationToken)
    {
        Record("DeleteThread", threadId);
        await BeforeAsync("DeleteThread", threadId);
        return threads.TryRemove(threadId, out _);
    }

    /// <summary>Awaited when a start arrives, before the run exists (the service slow to create it).</summary>
    public Func<Task>? BeforeStartRun { get; set; }

    /// <summary>
    /// When set, a start with a stream window "streams": it holds the call this long, then completes the run, unless the
    /// run is cancelled meanwhile (found by the start's key, <see cref="CancelStartedRunAsync"/>), which ends the call at once.
    /// </summary>
    public TimeSpan? StreamFor { get; set; }

    /// <summary>When set, how long a streamed start of this prompt is held instead of <see cref="StreamFor"/> (null: not streamed).</summary>
    public Func<string, TimeSpan?>? StreamForPrompt { get; set; }

    readonly ConcurrentDictionary<string, (string RunId, TaskCompletionSource Cancelled)> runsByKey = new(StringComparer.Ordinal);

    public async Task<RunState> StartRunAsync(AgentRef agent, string threadId, string userMessage, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken)
    {
        Record("StartRun", threadId);
        await BeforeAsync("StartRun", threadId);
        if (BeforeStartRun is { } before)
        {
            await before();
        }

        if (OneRunPerThread && runs.Values.Any(r => r.ThreadId == threadId && !r.IsTerminal))
        {
            throw new AgentServiceException($"Thread {threadId} already has an active run.", 400);
        }

        if (StartFailsAfterCreatingRun)
        {
            runsByKey[idempotencyKey] = (StartRunCore(threadId, userMessage), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            throw new AgentServiceException("The start's answer was lost after the run was created.", 400);
        }

        if ((StreamForPrompt is { } forPrompt ? forPrompt(userMessage) : StreamFor) is { } streamFor && streamWindow > TimeSpan.Zero)
        {
            var started = StartRunCore(threadId, userMessage);
            var first = runs[started];
            lock (first)
            {
                // A stream ends where the run asks for tool outputs.
                if (first.Steps.Count > 0 && first.Steps[0].ToolCalls.Count > 0)
                {
                    first.Current = first.Steps[0];
                    first.Position = 1;
                    first.WaitingForOutputs = true;
                    return State(started, "requires_action");
                }
            }

            var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            runsByKey[idempotencyKey] = (started, cancelled);
            if (await Task.WhenAny(cancelled.Task, Task.Delay(streamFor, cancellationToken)) == cancelled.Task)
            {
                return State(started, "cancelled");
            }

            var script = runs[started];
            lock (script)
            {
                script.Current = ScriptStep.Of("completed");
                AddReply(threadId, started);
            }

            return State(started, "completed");
        }

        return State(StartRunCore(threadId, userMessage), "queued");
    }

    string StartRunCore(string threadId, string userMessage)
    {
        var list = threads.GetOrAdd(threadId, _ => []);
        lock (list)
        {
            list.Add(new JobMessage($"msg_{Interlocked.Increment(ref counter)}", "user", userMessage, null, DateTimeOffset.UnixEpoch.AddSeconds(list.Count)));
        }

        var id = $"run_{Interlocked.Increment(ref counter)}";
        runs[id] = new RunScript(threadId, Script(userMessage));
        return id;
    }

    public async Task<RunState> GetRunAsync(RunRef run, CancellationToken cancellationToken)
    {
        Record("GetRun", run.RunId);
        await BeforeAsync("GetRun", run.ThreadId);
        var script = runs[run.RunId];
        lock (script)
        {
            var held = Paused && script.Current.Status != "cancelling";
            if (!held && !script.IsTerminal && script.Position < script.Steps.Count && !script.WaitingForOutputs)
            {
                script.Current = script.Steps[script.Position++];
                script.WaitingForOutputs = script.Current.ToolCalls.Count > 0;
                if (script.Current.Status == "completed")
                {
                    AddReply(run.ThreadId, run.RunId);
                }
            }

            return State(run.RunId, script.Current.Status);
        }
    }

    public async Task<RunState> SubmitToolOutputsAsync(AgentRef agent, RunRef run, IReadOnlyList<ToolOutput> outputs, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken)
    {
        Record("SubmitToolOutputs", run.RunId);
        await BeforeAsync("SubmitToolOutputs", run.ThreadId);
        Submissions.GetOrAdd(run.RunId, _ => []).Add(outputs);
        var script = runs[run.RunId];
        lock (script)
        {
            script.WaitingForOutputs = false;
            script.Current = ScriptStep.Of("in_progress");
        }

        // Streamed as a start is (StreamFor): held until the run is cancelled by the submission's key, or the time passes.
        if (StreamFor is { } streamFor && streamWindow > TimeSpan.Zero)
        {
            var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            runsByKey[idempotencyKey] = (run.RunId, cancelled);
            if (await Task.WhenAny(cancelled.Task, Task.Delay(streamFor, cancellationToken)) == cancelled.Task)
            {
                return State(run.RunId, "cancelled");
            }
        }

        return State(run.RunId, "in_progress");
    }

    /// <summary>When true, a cancelled run stays <c>cancelling</c> for ever (a service that never finishes cancelling).</summary>
    public bool CancelSticks { get; set; }

    /// <summary>When set (and the cancel does not stick), a cancelled run ends <c>cancelled</c> this long after the cancel even if nobody reads it, as a real service's does.</summary>
    public TimeSpan? CancelSettlesAfter { get; set; }

    /// <summary>The status a cancelled run ends with after one poll of <c>cancelling</c> (default <c>cancelled</c>; <c>failed</c>: the run failed by itself before the cancel took).</summary>
    public string CancelEndsAs { get; set; } = "cancelled";

    /// <summary>The reasons cancels were asked with, in order.</summary>
    public ConcurrentQueue<string> CancelReasons { get; } = new();

    public async Task<RunState> CancelRunAsync(RunState run, string reason, CancellationToken cancellationToken)
    {
        Record("CancelRun", run.RunId);
        await BeforeAsync("CancelRun", run.ThreadId);
        CancelReasons.Enqueue(reason);
        var script = runs[run.RunId];
        lock (script)
        {
            if (script.IsTerminal)
            {
                throw new AgentServiceException($"Cannot cancel run with status '{script.Current.Status}'.", 400);
            }

            // Cancelling for one poll, then cancelled (or cancelling for good, when the service is made to stick).
            script.Steps = CancelSticks
                ? [.. script.Steps.Take(script.Position), .. Enumerable.Repeat(ScriptStep.Of("cancelling"), 100_000)]
                : [.. script.Steps.Take(script.Position), CancelEndsAs == "failed" ? ScriptStep.Of("failed") with { Error = new JobFailure("server_error", "The run failed before the cancel took.") } : ScriptStep.Of(CancelEndsAs)];
            script.WaitingForOutputs = false;
            script.Current = ScriptStep.Of("cancelling");
            if (CancelSettlesAfter is { } settles && !CancelSticks)
            {
                _ = Task.Delay(settles, CancellationToken.None).ContinueWith(_ =>
                {
                    lock (script)
                    {
                        if (script.Current.Status == "cancelling")
                        {
                            script.Current = ScriptStep.Of("cancelled");
                            script.Position = script.Steps.Count;
                        }
                    }
                }, TaskScheduler.Default);
            }

            return State(run.RunId, "cancelling");
        }
    }

    /// <summary>Cancels a run a streamed start (<see cref="StreamFor"/>) created; null when none was created with the key.</summary>
    public Task<RunState?> CancelStartedRunAsync(string threadId, string idempotencyKey, RunRef? previous, string reason, CancellationToken cancellationToken)
    {
        Record("CancelStartedRun", threadId);
        if (!runsByKey.TryGetValue(idempotencyKey, out var started))
        {
            return Task.FromResult<RunState?>(null);
        }

        var script = runs[started.RunId];
        lock (script)
        {
            if (script.IsTerminal)
            {
                return Task.FromResult<RunState?>(State(started.RunId, script.Current.Status));
            }

            script.Current = ScriptStep.Of("cancelled");
        }

        started.Cancelled.TrySetResult();
        return Task.FromResult<RunState?>(State(started.RunId, "cancelled"));
    }

    public Task<int> CloseOpenToolCallsAsync(string threadId, string reason, CancellationToken cancellationToken)
    {
        Record("CloseToolCalls", threadId);
        return Task.FromResult(0);
    }

    public async Task<IReadOnlyList<JobMessage>> ListMessagesAsync(string threadId, CancellationToken cancellationToken)
    {
        Record("ListMessages", threadId);
        await BeforeAsync("ListMessages", threadId);
        var list = threads.GetOrAdd(threadId, _ => []);
        lock (list)
        {
            return [.. list];
        }
    }

    /// <summary>Tool calls every listed run step reports (default none: message creations only).</summary>
    public IReadOnlyList<JobToolCall> StepToolCalls { get; set; } = [];

    public Task<IReadOnlyList<JobRunStep>> ListRunStepsAsync(string threadId, IReadOnlyList<string> runIds, CancellationToken cancellationToken)
    {
        Record("ListRunSteps", threadId);
        var steps = runIds.Select(r => StepToolCalls.Count == 0
            ? new JobRunStep($"step_{r}", "message_creation", "completed", r, null, [])
            : new JobRunStep($"step_{r}", "tool_calls", "completed", r, null, StepToolCalls)).ToList();
        return Task.FromResult<IReadOnlyList<JobRunStep>>(steps);
    }

    void AddReply(string threadId, string runId)
    {
        var list = threads.GetOrAdd(threadId, _ => []);
        lock (list)
        {
            var outputs = Submissions.TryGetValue(runId, out var s) ? string.Join(" | ", s.SelectMany(o => o).Select(o => o.Output)) : "";
            list.Add(new JobMessage($"msg_{Interlocked.Increment(ref counter)}", "assistant", $"reply to '{list.Last(m => m.Role == "user").Text}'{(outputs.Length > 0 ? $" using {outputs}" : "")}", runId, DateTimeOffset.UnixEpoch.AddSeconds(list.Count)));
        }
    }

    RunState State(string runId, string status)
    {
        var script = runs[runId];
        var step = script.Current.Status == status ? script.Current : ScriptStep.Of(status);
        return new RunState(
            script.ThreadId,
            runId,
            AgentRunStatusExtensions.Parse(status),
            status,
            status == "requires_action" ? step.ToolCalls : [],
            step.Error,
            step.Status == "incomplete" ? "max_completion_tokens" : null,
            step.Usage ?? (AgentRunStatusExtensions.Parse(status).IsTerminal() ? new TokenUsage(10, 5, 15) : null),
            PollAfterMs);
    }

    void Record(string operation, string target)
    {
        calls.Enqueue((operation, target, DateTime.UtcNow));
        if (faults.TryGetValue(operation, out var queue))
        {
            lock (queue)
            {
                if (queue.Count > 0)
                {
                    throw queue.Dequeue();
                }
            }
        }
    }

    sealed class RunScript(string threadId, IReadOnlyList<ScriptStep> steps)
    {
        public string ThreadId { get; } = threadId;

        public IReadOnlyList<ScriptStep> Steps { get; set; } = steps;

        public int Position { get; set; }

        public bool WaitingForOutputs { get; set; }

        public ScriptStep Current { get; set; } = ScriptStep.Of("queued");

        public bool IsTerminal => AgentRunStatusExtensions.Parse(Current.Status).IsTerminal();
    }
}

/// <summary>One poll's answer in a run script.</summary>
/// <param name="Status">The run status.</param>
/// <param name="ToolCalls">Tool calls when requires_action.</param>
/// <param name="Error">The error when failed.</param>
/// <param name="Usage">Token usage the run reports at this step (default: 10/5/15 once terminal, none before).</param>
public sealed record ScriptStep(string Status, IReadOnlyList<ToolCallRequest> ToolCalls, JobFailure? Error = null, TokenUsage? Usage = null)
{
    public static ScriptStep Of(string status) => new(status, []);

    public static ScriptStep Tools(params ToolCallRequest[] calls) => new("requires_action", calls);

    public static ScriptStep Failed(string code, string message) => new("failed", [], new JobFailure(code, message));

    /// <summary><paramref name="polls"/> reads of in_progress, then <paramref name="final"/>.</summary>
    public static IReadOnlyList<ScriptStep> InProgressThen(int polls, string final = "completed") =>
        [.. Enumerable.Repeat(Of("in_progress"), polls), Of(final)];
}
