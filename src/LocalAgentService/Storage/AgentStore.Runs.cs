using LocalAgentService.Engine;

namespace LocalAgentService.Storage;

/// <summary>Runs and run steps: the protocol-side operations and the transitions the engine applies.</summary>
internal sealed partial class AgentStore
{
    // ---- protocol operations ----

    public T CreateRun<T>(string threadId, RunSpec spec, Func<RunRecord, T> project)
    {
        var assistant = FindAssistant(spec.AssistantId);
        return WithThread(threadId, thread => project(StartRun(thread, assistant, spec)));
    }

    public T CreateThreadAndRun<T>(RunSpec spec, Dictionary<string, string>? threadMetadata, System.Text.Json.JsonElement? toolResources, IReadOnlyList<MessageSpec> messages, Func<RunRecord, T> project)
    {
        var assistant = FindAssistant(spec.AssistantId);
        var thread = CreateThread(threadMetadata, toolResources, messages);
        return WithThread(thread.Id, t => project(StartRun(t, assistant, spec)));
    }

    public T GetRun<T>(string threadId, string runId, Func<RunRecord, T> project) =>
        WithThread(threadId, thread => project(FindRun(thread, runId)));

    public Page<T> ListRuns<T>(string threadId, PageQuery query, Func<RunRecord, T> project) =>
        WithThread(threadId, thread => Paging.Apply(thread.Runs, r => r.Id, query, project));

    public T ModifyRun<T>(string threadId, string runId, Dictionary<string, string>? metadata, Func<RunRecord, T> project) =>
        WithThread(threadId, thread =>
        {
            var run = FindRun(thread, runId);
            run.Metadata = metadata ?? run.Metadata;
            return project(run);
        });

    public T CancelRun<T>(string threadId, string runId, Func<RunRecord, T> project) =>
        WithThread(threadId, thread =>
        {
            var run = FindRun(thread, runId);
            if (run.Status is not (RunStatus.Queued or RunStatus.InProgress or RunStatus.RequiresAction))
            {
                throw ServiceException.Invalid($"Cannot cancel run with status '{run.Status}'.");
            }

            run.Status = RunStatus.Cancelling;
            run.NextTransitionAtMs = NowMs + simulation.CancellingMs;
            _ = run.Cancellation.CancelAsync(); // stops an in-flight model call; callbacks run off this lock

            work.Enqueue(run, RunWorkKind.FinishCancel);
            Notify(run, RunChange.Cancelling);
            return project(run);
        });

    /// <summary>Records the outputs and queues the run again; <paramref name="observer"/> (a stream) follows it from here.</summary>
    public T SubmitToolOutputs<T>(string threadId, string runId, IReadOnlyList<(string CallId, string Output)> outputs, Func<RunRecord, T> project, IRunObserver? observer = null) =>
        WithThread(threadId, thread =>
        {
            var run = FindRun(thread, runId);
            if (run.Status != RunStatus.RequiresAction)
            {
                throw ServiceException.Invalid($"Runs in status \"{run.Status}\" do not accept tool outputs.");
            }

            CheckSubmittedOutputs(run, outputs.Select(o => o.CallId).ToList());

            var step = run.Steps.Last(s => s.Type == "tool_calls");
            foreach (var (callId, output) in outputs)
            {
                step.ToolCalls.First(c => c.Id == callId).Output = output;
                run.ToolTurns.Add(new ModelTurn("tool", output, ToolCallId: callId));
            }

            step.Status = "completed";
            step.CompletedAt = NowSeconds;
            run.PendingToolCalls = [];
            run.Status = RunStatus.Queued;
            run.NextTransitionAtMs = NowMs + simulation.QueuedMs;
            work.Enqueue(run, RunWorkKind.Drive);
            if (observer is not null)
            {
                run.Observers.Add(observer);
            }

            Notify(run, RunChange.Requeued);
            return project(run);
        });

    /// <summary>
    /// Exactly one output per pending call: an unknown id, a repeated id or a missing one is a 400 that names it,
    /// followed by the service's own wording (<c>Expected tool outputs for call_ids […], got […]</c>).
    /// </summary>
    private static void CheckSubmittedOutputs(RunRecord run, IReadOnlyList<string> given)
    {
        var pending = run.PendingToolCalls.Select(c => c.Id).ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? problem = null;
        foreach (var id in given)
        {
            if (!pending.Contains(id, StringComparer.Ordinal))
            {
                problem = $"Unknown tool call id '{id}': run {run.Id} has no pending tool call with that id.";
                break;
            }

            if (!seen.Add(id))
            {
                problem = $"Tool output for call_id '{id}' was given more than once.";
                break;
            }
        }

        problem ??= pending.FirstOrDefault(id => !seen.Contains(id)) is { } missing ? $"Missing tool output for call_id '{missing}'." : null;
        if (problem is not null)
        {
            throw ServiceException.Invalid(
                $"{problem} Expected tool outputs for call_ids [{string.Join(", ", pending)}], got [{string.Join(", ", given)}].",
                "tool_outputs");
        }
    }

    public T GetRunStep<T>(string threadId, string runId, string stepId, Func<RunStepRecord, T> project) =>
        WithThread(threadId, thread => project(
            FindRun(thread, runId).Steps.Find(s => s.Id == stepId) ?? throw ServiceException.NotFound("run step", stepId)));

    public Page<T> ListRunSteps<T>(string threadId, string runId, PageQuery query, Func<RunStepRecord, T> project) =>
        WithThread(threadId, thread => Paging.Apply(FindRun(thread, runId).Steps, s => s.Id, query, project));

    /// <summary>Milliseconds a client should wait before polling the run again.</summary>
    public int PollHintMs(RunRecord run)
    {
        if (run.NextTransitionAtMs is { } due)
        {
            return (int)Math.Clamp(due - NowMs, 10, simulation.PollHintMs * 4L);
        }

        return simulation.PollHintMs;
    }

    private static RunRecord FindRun(ThreadRecord thread, string runId) =>
        thread.Runs.Find(r => r.Id == runId) ?? throw ServiceException.NotFound("run", runId);

    private RunRecord StartRun(ThreadRecord thread, AssistantRecord assistant, RunSpec spec)
    {
        if (thread.ActiveRun is { } active)
        {
            throw ServiceException.Invalid($"Thread {thread.Id} already has an active run {active.Id}.");
        }

        foreach (var message in spec.AdditionalMessages)
        {
            thread.Messages.Add(NewMessage(thread, message, null, null));
        }

        RunRecord run;
        lock (assistant)
        {
            string? instructions = spec.Instructions ?? assistant.Instructions;
            if (spec.AdditionalInstructions is { Length: > 0 } extra)
            {
                instructions = string.IsNullOrEmpty(instructions) ? extra : instructions + "\n" + extra;
            }

            run = new RunRecord
            {
                Id = Ids.New(Ids.Run),
                Thread = thread,
                AssistantId = assistant.Id,
                CreatedAt = NowSeconds,
                Seq = NextSeq(),
                Model = spec.Model ?? assistant.Model,
                Instructions = instructions ?? "",
                Tools = spec.Tools ?? assistant.Tools,
                Metadata = spec.Metadata ?? [],
                Temperature = spec.Temperature ?? assistant.Temperature ?? 1.0,
                TopP = spec.TopP ?? assistant.TopP ?? 1.0,
                MaxPromptTokens = spec.MaxPromptTokens,
                MaxCompletionTokens = spec.MaxCompletionTokens,
                TruncationStrategy = spec.TruncationStrategy,
                ToolChoice = spec.ToolChoice,
                ResponseFormat = spec.ResponseFormat ?? assistant.ResponseFormat,
                ParallelToolCalls = spec.ParallelToolCalls ?? true,
                Fault = spec.Fault,
            };
        }

        thread.Runs.Add(run);
        Interlocked.Increment(ref runsCreated);
        Launch(run, spec.Observer);
        return run;
    }

    /// <summary>
    /// Makes a new run (lock held) its thread's active run, sets its clocks and hands it to the engine; a stream given as
    /// <paramref name="observer"/> hears of the creation before the engine can move the run.
    /// </summary>
    private void Launch(RunRecord run, IRunObserver? observer)
    {
        run.ExpiresAtMs = NowMs + (run.Fault == RunFault.Expire ? 0 : simulation.ExpiresAfterMs);
        run.NextTransitionAtMs = NowMs + simulation.QueuedMs;
        run.Thread.ActiveRun = run;
        activeRuns[run.Id] = run;
        if (observer is not null)
        {
            run.Observers.Add(observer);
        }

        Notify(run, RunChange.Created);
        work.Enqueue(run, RunWorkKind.Drive);
    }

    /// <summary>Stops telling <paramref name="observer"/> about the run (its stream ended or its client went away).</summary>
    public static void StopObserving(RunRecord run, IRunObserver observer)
    {
        lock (run.Thread.Sync)
        {
            run.Observers.Remove(observer);
        }
    }

    /// <summary>Tells the run's observers (lock held) what just happened.</summary>
    private static void Notify(RunRecord run, RunChange change)
    {
        for (int i = run.Observers.Count - 1; i >= 0; i--)
        {
            run.Observers[i].OnRunChanged(run, change);
        }
    }

    // ---- engine transitions (each is a no-op when the run has moved on meanwhile) ----

    public bool TryStart(RunRecord run)
    {
        lock (run.Thread.Sync)
        {
            if (run.Status != RunStatus.Queued)
            {
                return false;
            }

            run.Status = RunStatus.InProgress;
            run.StartedAt ??= NowSeconds;
            run.NextTransitionAtMs = NowMs + simulation.InProgressMs;
            Notify(run, RunChange.InProgress);
            return true;
        }
    }

    /// <summary>The model's view of the run: thread messages in order, then this run's tool turns.</summary>
    public static ModelRequest? BuildModelRequest(RunRecord run)
    {
        lock (run.Thread.Sync)
        {
            if (run.Status != RunStatus.InProgress)
            {
                return null;
            }

            var turns = run.Response is { } state
                ? ItemTurns(state.History.Concat(state.Input))
                : run.Thread.Messages.Select(m => new ModelTurn(m.Role, m.Text)).Concat(run.ToolTurns).ToList();
            var tools = run.Tools
                .Where(t => t.Type == "function" && t.FunctionName is not null)
                .Select(t => new ModelTool(t.FunctionName!, t.Description, t.Parameters))
                .ToList();
            return new ModelRequest(run.Model, run.Instructions, tools, turns, run.ParallelToolCalls);
        }
    }

    public void ApplyModelResponse(RunRecord run, ModelResponse response)
    {
        lock (run.Thread.Sync)
        {
            if (run.Status != RunStatus.InProgress)
            {
                return;
            }

            run.PromptTokens += response.PromptTokens;
            run.CompletionTokens += response.CompletionTokens;
            response = response with { ToolCalls = ToolCallIds.MakeUnique(response.ToolCalls, ToolCallIdsInContext(run)) };
            if (run.Response is not null)
            {
                ApplyResponseOutput(run, response);
                return;
            }

            if (response.ToolCalls.Count > 0)
            {
                run.Steps.Add(NewStep(run, "tool_calls", response, toolCalls: response.ToolCalls
                    .Select(c => new StepToolCall { Id = c.Id, Name = c.Name, Arguments = c.Arguments }).ToList()));
                run.PendingToolCalls = response.ToolCalls;
                run.ToolTurns.Add(new ModelTurn("assistant", "", response.ToolCalls));
                run.Status = RunStatus.RequiresAction;
                run.NextTransitionAtMs = null;
                MarkSettled(run);
                Notify(run, RunChange.RequiresAction);
                return;
            }

            string text = CapText(run, response, "max_completion_tokens", out bool truncated);

            var message = NewMessage(run.Thread, new MessageSpec("assistant", [new ContentPart("text", text, null)], null, []), run.AssistantId, run.Id);
            run.Thread.Messages.Add(message);
            var step = NewStep(run, "message_creation", response, messageId: message.Id);
            step.Status = "completed";
            step.CompletedAt = NowSeconds;
            run.Steps.Add(step);
            Finish(run, truncated ? RunStatus.Incomplete : RunStatus.Completed);
        }
    }

    /// <summary>Call ids the model's context already holds (lock held): this run's earlier rounds, or a response's history and input.</summary>
    private static IEnumerable<string> ToolCallIdsInContext(RunRecord run) =>
        run.Response is { } state
            ? state.History.Concat(state.Input).Where(i => i.Spec.Type == "function_call" && i.Spec.CallId is not null).Select(i => i.Spec.CallId!)
            : run.ToolTurns.SelectMany(t => t.ToolCalls ?? []).Select(c => c.Id);

    /// <summary>Simulates the token cap: keeps ~4 chars per allowed token and records why the run ends incomplete.</summary>
    private static string CapText(RunRecord run, ModelResponse response, string reason, out bool truncated)
    {
        string text = response.Text ?? "";
        truncated = run.MaxCompletionTokens is { } max && response.CompletionTokens > max;
        if (truncated)
        {
            text = text[..Math.Min(text.Length, run.MaxCompletionTokens!.Value * 4)];
            run.IncompleteReason = reason;
        }

        return text;
    }

    public void Fail(RunRecord run, string code, string message)
    {
        lock (run.Thread.Sync)
        {
            if (run.Status is RunStatus.Queued or RunStatus.InProgress)
            {
                run.LastError = (code, message);
                Finish(run, RunStatus.Failed);
            }
        }
    }

    public void FinishCancel(RunRecord run)
    {
        lock (run.Thread.Sync)
        {
            if (run.Status == RunStatus.Cancelling)
            {
                Finish(run, RunStatus.Cancelled);
            }
        }
    }

    /// <summary>Expires every pending run whose <c>expires_at</c> has passed.</summary>
    public void ExpireDue()
    {
        long now = NowMs;
        foreach (var run in activeRuns.Values)
        {
            if (run.ExpiresAtMs > now)
            {
                continue;
            }

            lock (run.Thread.Sync)
            {
                if (run.Status is not (RunStatus.Queued or RunStatus.InProgress or RunStatus.RequiresAction))
                {
                    continue;
                }

                if (run.Response is not null)
                {
                    // The Responses protocol has no 'expired' status: an expired response fails.
                    run.LastError = ("server_error", "The response expired before it finished.");
                    Finish(run, RunStatus.Failed);
                }
                else
                {
                    Finish(run, RunStatus.Expired);
                }
            }
        }
    }

    /// <summary>Moves a run (lock held) to a terminal status and releases its thread.</summary>
    private void Finish(RunRecord run, string status)
    {
        long now = NowSeconds;
        run.Status = status;
        run.NextTransitionAtMs = null;
        run.PendingToolCalls = [];
        switch (status)
        {
            case RunStatus.Completed or RunStatus.Incomplete: run.CompletedAt = now; break;
            case RunStatus.Cancelled: run.CancelledAt = now; break;
            case RunStatus.Failed: run.FailedAt = now; break;
        }

        foreach (var step in run.Steps.Where(s => s.Status == "in_progress"))
        {
            step.Status = status switch
            {
                RunStatus.Expired => "expired",
                RunStatus.Failed => "failed",
                _ => "cancelled",
            };
            step.ExpiredAt = status == RunStatus.Expired ? now : null;
            step.FailedAt = status == RunStatus.Failed ? now : null;
            step.CancelledAt = status == RunStatus.Cancelled ? now : null;
        }

        if (ReferenceEquals(run.Thread.ActiveRun, run))
        {
            run.Thread.ActiveRun = null;
        }

        activeRuns.TryRemove(run.Id, out _);
        AppendToConversation(run);
        MarkSettled(run);
        Notify(run, RunChange.Finished);
        // Callbacks run on the pool, not under this thread's lock.
        _ = run.Cancellation.CancelAsync();
        run.Finished.TrySetResult();
    }

    private RunStepRecord NewStep(RunRecord run, string type, ModelResponse usage, string? messageId = null, IReadOnlyList<StepToolCall>? toolCalls = null) => new()
    {
        Id = Ids.New(Ids.Step),
        RunId = run.Id,
        ThreadId = run.Thread.Id,
        AssistantId = run.AssistantId,
        Type = type,
        CreatedAt = NowSeconds,
        Seq = NextSeq(),
        MessageId = messageId,
        ToolCalls = toolCalls ?? [],
        PromptTokens = usage.PromptTokens,
        CompletionTokens = usage.CompletionTokens,
    };
}
