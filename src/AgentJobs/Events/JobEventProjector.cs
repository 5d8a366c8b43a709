using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentJobs.Contracts;
using AgentJobs.Deltas;
using AgentJobs.Workflow;
using DurableTask.Core;
using DurableTask.Core.History;

namespace AgentJobs.Events;

/// <summary>
/// Derives a job's events from durable history alone: the job orchestration's history and the histories of its run
/// poller sub-orchestrations (<c>{jobId}:poll:{n}</c>). Activity inputs and outputs already hold every phase, run
/// status, tool call and result, and history positions are stable (history is append-only and replay never rewrites
/// it), so the same history always gives the same events with the same ids, on any host and any worker.
/// </summary>
/// <remarks>
/// <para>
/// Order: the job's events in history order; a poller's events follow the job event that created the poller, and the
/// job's later events are held back until that poller has ended (its completion is in the job's history), so events
/// are produced in id order and a reader never sees a smaller id after a larger one.
/// </para>
/// <para>
/// Limit: a history read returns a poller's current generation only. A run-status change seen in a generation that
/// continued as new (every <see cref="PollingSettings.PollsPerGeneration"/> polls) before any reader read it is not
/// derived again; the next generation starts from that status and the poller's return reports where the run went.
/// </para>
/// </remarks>
public static class JobEventProjector
{
    /// <summary>Longest prompt preview, in characters.</summary>
    public const int PromptPreviewChars = 200;

    /// <summary>Longest tool-argument and tool-output preview, in UTF-8 bytes.</summary>
    public const int ToolPreviewBytes = 1024;

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>The instance ids of the pollers the job created, in order, with whether each has ended.</summary>
    public static IReadOnlyList<(string InstanceId, bool Ended)> Pollers(IReadOnlyList<HistoryEvent> job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var ended = EndedSubOrchestrations(job);
        return [.. job.OfType<SubOrchestrationInstanceCreatedEvent>().Select(e => (e.InstanceId, ended.Contains(e.EventId)))];
    }

    /// <summary>Projects the events.</summary>
    /// <remarks>A streamed call's text deltas (<see cref="JobEventTypes.Delta"/>) follow the events of the history
    /// event that scheduled the call's first attempt, with ids <c>position.1.seq</c>; while the call is open the job's
    /// later events are held back, as for a poller, so a delta written later never gets a smaller id than an event
    /// already sent.</remarks>
    /// <param name="job">The job orchestration's history.</param>
    /// <param name="pollerHistory">A poller's history (its current generation) by instance id; null when not read.</param>
    /// <returns>The events in id order, and whether the job has ended (the last event is then <see cref="JobEventTypes.Result"/>).</returns>
    /// <param name="deltas">A streamed call's text deltas by call key (<see cref="StreamedCalls"/>); null (or null for a call) when not read.</param>
    public static (IReadOnlyList<JobEvent> Events, bool Finished) Project(
        IReadOnlyList<HistoryEvent> job, Func<string, IReadOnlyList<HistoryEvent>?> pollerHistory, Func<string, IReadOnlyList<TextDelta>?>? deltas = null)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(pollerHistory);
        var calls = StreamedCalls(job).ToDictionary(c => c.Position);

        var state = new State();
        var scheduled = new Dictionary<int, TaskScheduledEvent>();
        var ended = EndedSubOrchestrations(job);
        var laterPollerOrEnd = new HashSet<int>();
        for (var i = 0; i < job.Count; i++)
        {
            if (job[i] is SubOrchestrationInstanceCreatedEvent or ExecutionCompletedEvent or ExecutionTerminatedEvent)
            {
                laterPollerOrEnd.Add(i);
            }
        }

        DateTime? episodeAt = null;
        for (var position = 0; position < job.Count; position++)
        {
            var e = job[position];
            var at = e.Timestamp;
            var index = 0;
            void Emit(string type, JsonObject data) => state.Add(new JobEventId(position, 0, index++), type, data, at);

            // Calls still awaiting a decision when the job has moved on (it stopped: cancel, deadline, a failure) are
            // closed here, so every approvalRequested has its approvalDecided: the job records them as not approved.
            void CloseAwaiting(AgentJobResult? result)
            {
                foreach (var (callId, tool) in state.Awaiting)
                {
                    var recorded = result?.Approvals?.FirstOrDefault(a => a.CallId == callId);
                    Emit(JobEventTypes.ApprovalDecided, Decided(callId, tool, approved: false, recorded?.Reason ?? "not decided before the job stopped", recorded?.DecidedBy));
                }

                state.Awaiting.Clear();
            }

            if (e is OrchestratorStartedEvent episode)
            {
                episodeAt = episode.Timestamp;
            }

            // The approval wait ended without a decision for these calls when the job schedules any other step.
            if (state.Awaiting.Count > 0 && e is TaskScheduledEvent { Name: not (nameof(AgentJobActivities.RequestApprovals) or nameof(AgentJobActivities.ExecuteTool)) })
            {
                CloseAwaiting(result: null);
            }

            switch (e)
            {
                case ExecutionStartedEvent started:
                    var request = Read<AgentJobRequest>(started.Input) is { Prompt: not null } asJob ? asJob : Read<TurnInputDto>(started.Input)?.Request; // a job, or a session's turn
                    Emit(JobEventTypes.Accepted, new JsonObject
                    {
                        ["prompt"] = Cut(request?.Prompt, PromptPreviewChars),
                        ["model"] = request?.Model,
                        ["tools"] = new JsonArray([.. (request?.Tools ?? []).Select(t => JsonValue.Create(t))]),
                        ["maxDurationSeconds"] = request?.MaxDurationSeconds,
                    });
                    break;

                case TaskScheduledEvent task:
                    scheduled[task.EventId] = task;
                    if (PhaseOf(task.Name) is { } phase && state.EnterPhase(phase) is { } entered)
                    {
                        Emit(JobEventTypes.Phase, entered);
                    }

                    if (task.Name == nameof(AgentJobActivities.RequestApprovals) && Read<ApprovalsDto>(task.Input)?.Calls is { } held)
                    {
                        foreach (var h in held)
                        {
                            state.Awaiting[h.CallId ?? ""] = h.Tool;
                            state.ApprovalExpiresAt = h.ExpiresAt;
                            Emit(JobEventTypes.ApprovalRequested, new JsonObject
                            {
                                ["callId"] = h.CallId,
                                ["tool"] = h.Tool,
                                ["arguments"] = h.Arguments,
                                ["expiresAt"] = h.ExpiresAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
                            });
                        }
                    }

                    if (calls.TryGetValue(position, out var streamed))
                    {
                        foreach (var delta in deltas?.Invoke(streamed.Key) ?? [])
                        {
                            state.Add(new JobEventId(position, 1, delta.Seq), JobEventTypes.Delta, DeltaData(delta), delta.AtUtc);
                        }

                        if (streamed.Open)
                        {
                            return (state.Events, false);
                        }
                    }

                    if (task.Name == nameof(AgentJobActivities.ExecuteTool) && Read<ToolCallDto>(task.Input) is { } call)
                    {
                        Emit(JobEventTypes.ToolCall, new JsonObject
                        {
                            ["callId"] = call.Id,
                            ["tool"] = call.Name,
                            ["arguments"] = CutBytes(call.Arguments, ToolPreviewBytes),
                        });
                    }

                    break;

                case TaskCompletedEvent completed when scheduled.TryGetValue(completed.TaskScheduledId, out var task):
                    switch (task.Name)
                    {
                        case nameof(AgentJobActivities.ExecuteTool):
                            var request2 = Read<ToolCallDto>(task.Input);
                            var output = Read<ToolOutputDto>(completed.Result);
                            Emit(JobEventTypes.ToolResult, new JsonObject
                            {
                                ["callId"] = output?.ToolCallId ?? request2?.Id,
                                ["tool"] = request2?.Name,
                                ["output"] = CutBytes(output?.Output, ToolPreviewBytes),
                                ["isError"] = output?.IsError ?? false,
                            });
                            break;

                        case nameof(AgentJobActivities.StartRun):
                        case nameof(AgentJobActivities.SubmitToolOutputs):
                        case nameof(AgentJobActivities.CancelRun):
                            if (Read<RunDto>(completed.Result) is { } run && state.SawRun(run) is { } changed)
                            {
                                Emit(JobEventTypes.RunStatus, changed);
                            }

                            break;
                    }

                    break;

                case SubOrchestrationInstanceCreatedEvent poller:
                    if (state.EnterPhase(state.CancelSent ? JobPhase.Cancelling : JobPhase.Polling) is { } pollingPhase)
                    {
                        Emit(JobEventTypes.Phase, pollingPhase);
                    }

                    if (pollerHistory(poller.InstanceId) is { } history)
                    {
                        ProjectPoller(position, history, state);
                    }

                    // Hold the job's later events back until the poller has ended, so ids stay in production order.
                    // A poller the job stopped waiting for (a later poller or the job's end is in history) no longer holds it.
                    if (!ended.Contains(poller.EventId) && !laterPollerOrEnd.Any(i => i > position))
                    {
                        return (state.Events, false);
                    }

                    break;

                case SubOrchestrationInstanceCompletedEvent pollerDone:
                    // The poller reported every status it saw; only remember where the run is.
                    if (Read<PollOutcomeDto>(pollerDone.Result)?.Run is { } last)
                    {
                        state.SawRun(last, emit: false);
                    }

                    break;

                // The approval wait's timer is the one due when the round's approvals expire.
                case TimerCreatedEvent timer when state.Awaiting.Count > 0 && timer.FireAt == state.ApprovalExpiresAt:
                    state.ApprovalTimerId = timer.EventId;
                    break;

                case TimerFiredEvent fired when state.Awaiting.Count > 0 && fired.TimerId == state.ApprovalTimerId:
                    // Decided when the job took the timer in (its episode's time), not when the timer was set.
                    at = episodeAt is { } firedAt && firedAt > at ? firedAt : at;
                    foreach (var (callId, tool) in state.Awaiting)
                    {
                        Emit(JobEventTypes.ApprovalDecided, Decided(callId, tool, approved: false, "approval timed out", ToolApprovals.TimeoutDecider));
                    }

                    state.Awaiting.Clear();
                    break;

                case EventRaisedEvent raised when raised.Name == AgentJobOrchestrator.ApprovalEventName:
                    if (Read<ApprovalDecision>(raised.Input) is { } decision && state.Awaiting.Remove(decision.CallId, out var decidedTool))
                    {
                        Emit(JobEventTypes.ApprovalDecided, Decided(decision.CallId, decidedTool, decision.Approved, decision.Reason, decision.DecidedBy));
                    }

                    break;

                case EventRaisedEvent raised when raised.Name == AgentJobOrchestrator.CancelEventName:
                    Emit(JobEventTypes.CancelRequested, new JsonObject { ["reason"] = Read<string>(raised.Input) });
                    break;

                case ExecutionCompletedEvent done:
                    var result = done.OrchestrationStatus == OrchestrationStatus.Completed ? Read<AgentJobResult>(done.Result) : null;
                    CloseAwaiting(result);
                    if (state.EnterPhase(JobPhase.Done) is { } donePhase)
                    {
                        Emit(JobEventTypes.Phase, donePhase);
                    }

                    if (result?.Reply is { } reply)
                    {
                        Emit(JobEventTypes.Reply, new JsonObject { ["text"] = reply });
                    }

                    Emit(JobEventTypes.Result, ResultData(done, result));
                    return (state.Events, true);
            }
        }

        return (state.Events, false);
    }

    /// <summary>
    /// The job's streamed calls (<see cref="AgentJobActivities.StartRun"/>, <see cref="AgentJobActivities.SubmitToolOutputs"/>)
    /// by key, at the position of their first attempt, with whether the call may still write deltas: an attempt runs,
    /// or the last one failed and the job has not moved on yet (a retry with the same key may follow).
    /// </summary>
    public static IReadOnlyList<StreamedCall> StreamedCalls(IReadOnlyList<HistoryEvent> job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        var keyOf = new Dictionary<int, string>(); // TaskScheduled event id -> key
        var lastAttempt = new Dictionary<string, int>(StringComparer.Ordinal); // key -> event id of its last attempt
        var outcome = new Dictionary<int, (bool Succeeded, int Position)>();
        var ended = false;
        var lastStep = -1; // position of the last step the job scheduled that is not a streamed call
        for (var i = 0; i < job.Count; i++)
        {
            switch (job[i])
            {
                case TaskScheduledEvent task when task.Name is nameof(AgentJobActivities.StartRun) or nameof(AgentJobActivities.SubmitToolOutputs)
                    && Read<CallKeyDto>(task.Input)?.IdempotencyKey is { } key:
                    first.TryAdd(key, i);
                    keyOf[task.EventId] = key;
                    lastAttempt[key] = task.EventId;
                    break;
                case TaskScheduledEvent or SubOrchestrationInstanceCreatedEvent:
                    lastStep = i;
                    break;
                case TaskCompletedEvent completed when keyOf.ContainsKey(completed.TaskScheduledId):
                    outcome[completed.TaskScheduledId] = (true, i);
                    break;
                case TaskFailedEvent failed when keyOf.ContainsKey(failed.TaskScheduledId):
                    outcome[failed.TaskScheduledId] = (false, i);
                    break;
                case ExecutionCompletedEvent or ExecutionTerminatedEvent:
                    ended = true;
                    break;
            }
        }

        return [.. first.Select(f =>
        {
            var open = !ended && (!outcome.TryGetValue(lastAttempt[f.Key], out var last) || (!last.Succeeded && lastStep < last.Position));
            var succeeded = keyOf.Where(k => k.Value == f.Key).Any(k => outcome.TryGetValue(k.Key, out var o) && o.Succeeded);
            return new StreamedCall(f.Key, f.Value, open && !succeeded);
        })];
    }

    /// <summary>The event of a text delta of the call scheduled at <paramref name="position"/>.</summary>
    public static JobEvent DeltaEvent(int position, TextDelta delta)
    {
        ArgumentNullException.ThrowIfNull(delta);
        var data = DeltaData(delta);
        data["at"] = DateTime.SpecifyKind(delta.AtUtc, DateTimeKind.Utc).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        return new JobEvent(new JobEventId(position, 1, delta.Seq), JobEventTypes.Delta, data);
    }

    static JsonObject DeltaData(TextDelta delta)
    {
        var data = new JsonObject { ["runId"] = delta.RunId, ["itemId"] = delta.ItemId, ["text"] = delta.Text };
        if (delta.Truncated)
        {
            data["truncated"] = true;
        }

        return data;
    }

    static void ProjectPoller(int position, IReadOnlyList<HistoryEvent> history, State state)
    {
        if (history.OfType<ExecutionStartedEvent>().FirstOrDefault() is not { } started || Read<PollInputDto>(started.Input) is not { } input)
        {
            return;
        }

        // What earlier generations saw (their history is gone after continue-as-new), with the ids they had.
        foreach (var change in input.Seen ?? [])
        {
            var seen = state.SawRun(new RunDto(change.RunId, change.RawStatus), emit: true, force: true)!;
            seen["polls"] = change.Polls;
            state.Add(new JobEventId(position, 1 + (2 * change.Polls), 0), JobEventTypes.RunStatus, seen, change.AtUtc);
        }

        var polls = input.Polls;
        var status = input.Run?.RawStatus;
        var gets = new HashSet<int>();
        foreach (var e in history)
        {
            switch (e)
            {
                case TaskScheduledEvent task when task.Name == nameof(AgentJobActivities.GetRun):
                    gets.Add(task.EventId);
                    break;

                case TaskCompletedEvent completed when gets.Contains(completed.TaskScheduledId):
                    polls++;
                    if (Read<RunDto>(completed.Result) is { } run && run.RawStatus != status)
                    {
                        status = run.RawStatus;
                        var data = state.SawRun(run, emit: true, force: true)!;
                        data["polls"] = polls;
                        state.Add(new JobEventId(position, 1 + (2 * polls), 0), JobEventTypes.RunStatus, data, e.Timestamp);
                    }

                    break;

                case EventRaisedEvent raised when raised.Name == RunPoller.StopWaitingEventName:
                    if (state.EnterPhase(JobPhase.Cancelling) is { } cancelling)
                    {
                        state.Add(new JobEventId(position, 2 + (2 * polls), 0), JobEventTypes.Phase, cancelling, e.Timestamp);
                    }

                    break;
            }
        }
    }

    static JsonObject ResultData(ExecutionCompletedEvent done, AgentJobResult? result)
    {
        var data = new JsonObject
        {
            ["runtimeStatus"] = done.OrchestrationStatus switch
            {
                OrchestrationStatus.Completed => "Completed",
                OrchestrationStatus.Terminated => "Terminated",
                OrchestrationStatus.Failed => "Failed",
                var other => other.ToString(),
            },
        };
        if (result is not null)
        {
            data["outcome"] = result.Outcome.ToString();
            data["runStatus"] = result.RunStatus;
            data["failure"] = JsonSerializer.SerializeToNode(result.Failure, Json);
            data["usage"] = JsonSerializer.SerializeToNode(result.Usage, Json);
            data["agentDeleted"] = result.AgentDeleted;
            data["threadDeleted"] = result.ThreadDeleted;
            data["polls"] = result.Polls;
            data["toolCalls"] = result.ToolCalls;
            data["elapsedSeconds"] = result.ElapsedSeconds;
        }
        else
        {
            data["failure"] = new JsonObject
            {
                ["code"] = done.FailureDetails?.ErrorType ?? done.OrchestrationStatus.ToString().ToLowerInvariant(),
                ["message"] = done.FailureDetails?.ErrorMessage ?? Read<string>(done.Result) ?? done.Result,
            };
        }

        return data;
    }

    static HashSet<int> EndedSubOrchestrations(IReadOnlyList<HistoryEvent> job) =>
    [
        .. job.Select(e => e switch
        {
            SubOrchestrationInstanceCompletedEvent c => c.TaskScheduledId,
            SubOrchestrationInstanceFailedEvent f => f.TaskScheduledId,
            _ => -1,
        }).Where(id => id >= 0),
    ];

    static JsonObject Decided(string callId, string? tool, bool approved, string? reason, string? decidedBy) => new()
    {
        ["callId"] = callId,
        ["tool"] = tool,
        ["approved"] = approved,
        ["reason"] = reason,
        ["decidedBy"] = decidedBy,
    };

    static JobPhase? PhaseOf(string? activity) => activity switch
    {
        nameof(AgentJobActivities.RequestApprovals) => JobPhase.AwaitingApproval,
        nameof(AgentJobActivities.CreateAgent) => JobPhase.CreatingAgent,
        nameof(AgentJobActivities.CreateThread) => JobPhase.CreatingThread,
        nameof(AgentJobActivities.StartRun) => JobPhase.StartingRun,
        nameof(AgentJobActivities.ExecuteTool) => JobPhase.RunningTools,
        nameof(AgentJobActivities.CancelRun) => JobPhase.Cancelling,
        nameof(AgentJobActivities.ListMessages) => JobPhase.CollectingResults,
        nameof(AgentJobActivities.DeleteAgent) or nameof(AgentJobActivities.DeleteThread) => JobPhase.CleaningUp,
        _ => null,
    };

    static T? Read<T>(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return default;
        }

        try
        {
            // Activity inputs travel wrapped in a one-element array.
            if (json[0] == '[' && !typeof(System.Collections.IEnumerable).IsAssignableFrom(typeof(T)))
            {
                using var array = JsonDocument.Parse(json);
                return array.RootElement.GetArrayLength() == 1 ? array.RootElement[0].Deserialize<T>(Json) : default;
            }

            return JsonSerializer.Deserialize<T>(json, Json);
        }
        catch (JsonException)
        {
            return default;
        }
    }

    /// <summary>At most <paramref name="max"/> characters, with an ellipsis when cut.</summary>
    public static string? Cut(string? text, int max) =>
        text is null || text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");

    /// <summary>At most <paramref name="maxBytes"/> UTF-8 bytes, cut on a character boundary, with an ellipsis when cut.</summary>
    public static string? CutBytes(string? text, int maxBytes)
    {
        if (text is null || Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }

        var length = ResultText.Utf8PrefixLength(text, maxBytes - 3); // the ellipsis is 3 bytes
        return string.Concat(text.AsSpan(0, length), "…");
    }

    sealed class State
    {
        readonly List<JobEvent> events = [];
        JobPhase? phase;
        string? runStatus;
        string? runId;

        public IReadOnlyList<JobEvent> Events => events;

        public bool CancelSent { get; private set; }

        /// <summary>Held calls not yet decided (call id → tool).</summary>
        public Dictionary<string, string?> Awaiting { get; } = new(StringComparer.Ordinal);

        public DateTime? ApprovalExpiresAt { get; set; }

        public int? ApprovalTimerId { get; set; }

        public void Add(JobEventId id, string type, JsonObject data, DateTime at)
        {
            data["at"] = DateTime.SpecifyKind(at, DateTimeKind.Utc).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
            events.Add(new JobEvent(id, type, data));
        }

        public JsonObject? EnterPhase(JobPhase next)
        {
            CancelSent |= next == JobPhase.Cancelling;
            if (phase == next)
            {
                return null;
            }

            phase = next;
            return new JsonObject { ["phase"] = next.ToString() };
        }

        /// <summary>Notes the run as seen; an event when its status changed, or when it is another run (responses:
        /// each tool round's follow-up is a new run, which may end with the same word as the one before).</summary>
        public JsonObject? SawRun(RunDto run, bool emit = true, bool force = false)
        {
            var changed = force || run.RawStatus != runStatus || run.RunId != runId;
            runStatus = run.RawStatus;
            runId = run.RunId;
            return emit && changed ? new JsonObject { ["runId"] = run.RunId, ["status"] = run.RawStatus } : null;
        }
    }

    sealed record RunDto(string? RunId, string? RawStatus);

    sealed record CallKeyDto(string? IdempotencyKey);

    sealed record TurnInputDto(AgentJobRequest? Request);

    sealed record ToolCallDto(string? Id, string? Name, string? Arguments);

    sealed record ApprovalsDto(IReadOnlyList<PendingApproval>? Calls);

    sealed record ToolOutputDto(string? ToolCallId, string? Output, bool IsError);

    sealed record PollOutcomeDto(RunDto? Run);

    sealed record PollInputDto(RunDto? Run, int Polls, IReadOnlyList<SeenDto>? Seen);

    sealed record SeenDto(int Polls, string? RunId, string? RawStatus, DateTime AtUtc);
}

/// <summary>A streamed call of a job: its key, the history position of its first attempt, whether it may still write deltas.</summary>
/// <param name="Key">The call's idempotency key (the delta log's call key).</param>
/// <param name="Position">Where its first attempt was scheduled in the job's history.</param>
/// <param name="Open">Whether an attempt may still write deltas.</param>
public sealed record StreamedCall(string Key, int Position, bool Open);
