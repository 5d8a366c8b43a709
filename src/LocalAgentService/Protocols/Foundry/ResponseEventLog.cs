using System.Runtime.CompilerServices;
using LocalAgentService.Protocols.Classic;
using LocalAgentService.Storage;

namespace LocalAgentService.Protocols.Foundry;

/// <summary>
/// The event log of a response created with <c>stream:true</c>: it observes the response from creation and records each
/// transition, as it happens, as Responses stream events numbered from 0 (<c>response.created</c>, <c>response.queued</c>,
/// <c>response.in_progress</c>, the output item/part/delta events, then <c>response.completed</c> | <c>failed</c> |
/// <c>incomplete</c> | <c>cancelled</c>). Readers replay it from any sequence number and then follow it live, so a
/// dropped stream can be resumed (<c>GET /responses/{id}?stream=true&amp;starting_after=N</c>). Bounded: only the last
/// <see cref="MaxEvents"/> events are kept.
/// </summary>
/// <remarks>With a pace (<see cref="SimulationOptions.TokensPerSecond"/>), text deltas are appended over time and the
/// terminal event after the last one.</remarks>
internal sealed class ResponseEventLog(SimulationOptions? simulation = null) : IRunObserver
{
    public const int MaxEvents = 1000;

    private readonly Lock sync = new();
    private readonly List<SseEvent> events = [];
    private int firstSeq;
    private int nextSeq;
    private bool finished;
    private TaskCompletionSource appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The log kept on a response (lock held), or null when it was not created with <c>stream:true</c>.</summary>
    public static ResponseEventLog? Of(RunRecord run) => run.Observers.OfType<ResponseEventLog>().FirstOrDefault();

    /// <summary>Called by the store under the response's lock.</summary>
    public void OnRunChanged(RunRecord run, RunChange change)
    {
        switch (change)
        {
            case RunChange.Created:
                AppendResponse("response.created", run);
                AppendResponse("response.queued", run);
                break;
            case RunChange.InProgress:
                AppendResponse("response.in_progress", run);
                break;
            case RunChange.Finished:
                var output = run.Status is RunStatus.Completed or RunStatus.Incomplete ? run.Response!.Output.ToList() : [];
                var final = FoundryMapper.Response(run);
                var type = "response." + ResponseStatus.FromRun(run.Status);
                if (TextPace.IsPaced(simulation) && output.Count > 0)
                {
                    // Snapshots taken under the response's lock; the words follow at their pace, then the end.
                    _ = Task.Run(async () =>
                    {
                        for (int i = 0; i < output.Count; i++)
                        {
                            await AppendItemAsync(i, output[i]);
                        }

                        Append(type, (t, seq) => new ResponseEventDto(t, seq, final), last: true);
                    });
                    break;
                }

                for (int i = 0; i < output.Count; i++)
                {
                    AppendItemAsync(i, output[i]).GetAwaiter().GetResult(); // unpaced: completes at once
                }

                Append(type, (t, seq) => new ResponseEventDto(t, seq, final), last: true);
                break;
        }
    }

    /// <summary>The events after sequence number <paramref name="after"/> (-1: all), then new ones as they come, until the terminal event.</summary>
    public async IAsyncEnumerable<SseEvent> ReadAsync(int after, [EnumeratorCancellation] CancellationToken ct)
    {
        int next = after + 1;
        while (true)
        {
            SseEvent[] batch;
            bool done;
            Task more;
            lock (sync)
            {
                int from = Math.Max(next, firstSeq);
                batch = from < nextSeq ? events.GetRange(from - firstSeq, nextSeq - from).ToArray() : [];
                next = Math.Max(next, nextSeq);
                done = finished;
                more = appended.Task;
            }

            foreach (var e in batch)
            {
                yield return e;
            }

            if (done)
            {
                yield break;
            }

            await more.WaitAsync(ct);
        }
    }

    /// <summary>A message streams as item added, part added, text deltas, text done, part done, item done; a function call as item added, argument delta/done, item done.</summary>
    private async Task AppendItemAsync(int index, ItemRecord item)
    {
        var full = FoundryMapper.Item(item);
        switch (full)
        {
            case MessageItemDto message:
                string text = item.Spec.Text;
                Append("response.output_item.added", (type, seq) => new OutputItemEventDto(type, seq, index, message with { Status = "in_progress", Content = [] }));
                Append("response.content_part.added", (type, seq) => new ContentPartEventDto(type, seq, item.Id, index, 0, new OutputTextDto("", [])));
                void Delta(string piece)
                {
                    Append("response.output_text.delta", (type, seq) => new OutputTextDeltaEventDto(type, seq, item.Id, index, 0, piece, []));
                    simulation?.TextSent?.Invoke(item.Id, piece);
                }

                var pieces = TextPace.Pieces(text, simulation);
                if (TextPace.IsPaced(simulation))
                {
                    await TextPace.PlayAsync(pieces, simulation!, Delta);
                }
                else
                {
                    foreach (string piece in pieces)
                    {
                        Delta(piece);
                    }
                }

                Append("response.output_text.done", (type, seq) => new OutputTextDoneEventDto(type, seq, item.Id, index, 0, text, []));
                Append("response.content_part.done", (type, seq) => new ContentPartEventDto(type, seq, item.Id, index, 0, new OutputTextDto(text, [])));
                break;
            case FunctionCallItemDto call:
                Append("response.output_item.added", (type, seq) => new OutputItemEventDto(type, seq, index, call with { Status = "in_progress", Arguments = "" }));
                Append("response.function_call_arguments.delta", (type, seq) => new ArgumentsDeltaEventDto(type, seq, item.Id, index, call.Arguments));
                Append("response.function_call_arguments.done", (type, seq) => new ArgumentsDoneEventDto(type, seq, item.Id, index, call.Name, call.Arguments));
                break;
            default:
                Append("response.output_item.added", (type, seq) => new OutputItemEventDto(type, seq, index, full));
                break;
        }

        Append("response.output_item.done", (type, seq) => new OutputItemEventDto(type, seq, index, full));
    }

    private void AppendResponse(string type, RunRecord run, bool last = false) =>
        Append(type, (t, seq) => new ResponseEventDto(t, seq, FoundryMapper.Response(run)), last);

    /// <summary>Numbers and serializes the event now (a snapshot), keeps it, and wakes the readers.</summary>
    private void Append(string type, Func<string, int, object> create, bool last = false)
    {
        TaskCompletionSource wake;
        lock (sync)
        {
            if (finished)
            {
                return;
            }

            events.Add(SseEvent.Json(type, create(type, nextSeq)));
            nextSeq++;
            if (events.Count > MaxEvents)
            {
                events.RemoveAt(0);
                firstSeq++;
            }

            finished = last;
            wake = appended;
            appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.TrySetResult();
    }
}
