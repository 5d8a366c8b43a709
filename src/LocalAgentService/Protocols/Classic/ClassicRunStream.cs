using System.Threading.Channels;
using LocalAgentService.Storage;
using Microsoft.AspNetCore.Http;

namespace LocalAgentService.Protocols.Classic;

/// <summary>
/// One classic streaming request (<c>stream:true</c> on create run, create thread and run, submit tool outputs): it
/// observes the run from the request on and turns each engine transition, as it happens, into Assistants v2 events
/// (<c>thread.run.*</c>, <c>thread.run.step.*</c>, <c>thread.message.*</c>, each carrying the full object). The stream
/// ends with <c>done</c> after a terminal status or <c>requires_action</c>.
/// </summary>
/// <remarks>With a pace (<see cref="SimulationOptions.TokensPerSecond"/>), the message's deltas are sent over time and the
/// run's end after the last one.</remarks>
internal sealed class ClassicRunStream(bool announceThread, SimulationOptions? simulation = null) : IRunObserver, IResult
{
    private readonly Channel<SseEvent> events = Channel.CreateUnbounded<SseEvent>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private RunRecord? run;
    private bool ended;

    /// <summary>A stream for the request when its body asks for one (<c>stream:true</c>), else null.</summary>
    public static ClassicRunStream? For(RequestBody body, SimulationOptions? simulation = null, bool announceThread = false) =>
        body.Boolean("stream") == true ? new ClassicRunStream(announceThread, simulation) : null;

    /// <summary>Called by the store under the run's lock.</summary>
    public void OnRunChanged(RunRecord r, RunChange change)
    {
        if (ended)
        {
            return;
        }

        run ??= r;
        switch (change)
        {
            case RunChange.Created:
                if (announceThread)
                {
                    Emit("thread.created", ClassicMapper.Thread(r.Thread));
                }

                Emit("thread.run.created", ClassicMapper.Run(r));
                Emit("thread.run.queued", ClassicMapper.Run(r));
                break;
            case RunChange.Requeued:
                if (r.Steps.LastOrDefault(s => s.Type == "tool_calls") is { } answered)
                {
                    Emit("thread.run.step.completed", ClassicMapper.Step(answered));
                }

                Emit("thread.run.queued", ClassicMapper.Run(r));
                break;
            case RunChange.InProgress:
                Emit("thread.run.in_progress", ClassicMapper.Run(r));
                break;
            case RunChange.Cancelling:
                Emit("thread.run.cancelling", ClassicMapper.Run(r));
                break;
            case RunChange.RequiresAction:
                if (r.Steps.LastOrDefault() is { Type: "tool_calls" } calls)
                {
                    Emit("thread.run.step.created", ClassicMapper.Step(calls));
                }

                Emit("thread.run.requires_action", ClassicMapper.Run(r));
                End();
                break;
            case RunChange.Finished:
                if (r.Status is RunStatus.Completed or RunStatus.Incomplete && r.Steps.LastOrDefault() is { Type: "message_creation" } step)
                {
                    var closing = EmitMessage(r, step);
                    var finished = ("thread.run." + r.Status, (object)ClassicMapper.Run(r));
                    if (TextPace.IsPaced(simulation))
                    {
                        // Snapshots taken under the run's lock; the words follow at their pace, then the end.
                        ended = true;
                        _ = Task.Run(async () =>
                        {
                            await closing();
                            Emit(finished.Item1, finished.Item2);
                            End();
                        });
                        break;
                    }

                    closing().GetAwaiter().GetResult();
                    Emit(finished.Item1, finished.Item2);
                    End();
                    break;
                }

                Emit("thread.run." + r.Status, ClassicMapper.Run(r));
                End();
                break;
        }
    }

    /// <summary>Streams the events to the client; the run goes on whatever happens to the connection.</summary>
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        try
        {
            await EventStream.WriteAsync(httpContext, ct => events.Reader.ReadAllAsync(ct));
        }
        finally
        {
            if (run is not null)
            {
                AgentStore.StopObserving(run, this);
            }
        }
    }

    /// <summary>
    /// The answer's step and message, as the real service streams them: created now; the deltas (at the simulation's
    /// pace) and completed by the returned step.
    /// </summary>
    private Func<Task> EmitMessage(RunRecord r, RunStepRecord step)
    {
        var stepDto = ClassicMapper.Step(step);
        Emit("thread.run.step.created", stepDto with { Status = "in_progress", CompletedAt = null, Usage = null });
        if (r.Thread.Messages.FindLast(m => m.Id == step.MessageId) is not { } message)
        {
            return () =>
            {
                Emit("thread.run.step.completed", stepDto);
                return Task.CompletedTask;
            };
        }

        var full = ClassicMapper.Message(message);
        var opening = full with { Status = "in_progress", Content = [], CompletedAt = null };
        Emit("thread.message.created", opening);
        Emit("thread.message.in_progress", opening);
        var pieces = TextPace.Pieces(message.Text, simulation);
        var messageId = message.Id;
        void Delta(string piece)
        {
            Emit("thread.message.delta", new MessageDeltaDto(messageId, new MessageDeltaBodyDto([new TextDeltaContentDto(0, new TextValueDto(piece, []))])));
            simulation?.TextSent?.Invoke(messageId, piece);
        }

        return async () =>
        {
            if (TextPace.IsPaced(simulation))
            {
                await TextPace.PlayAsync(pieces, simulation!, Delta);
            }
            else
            {
                foreach (var piece in pieces)
                {
                    Delta(piece);
                }
            }

            Emit("thread.message.completed", full);
            Emit("thread.run.step.completed", stepDto);
        };
    }

    private void Emit(string name, object data) => events.Writer.TryWrite(SseEvent.Json(name, data));

    private void End()
    {
        events.Writer.TryWrite(SseEvent.Done);
        events.Writer.TryComplete();
        ended = true;
    }
}
