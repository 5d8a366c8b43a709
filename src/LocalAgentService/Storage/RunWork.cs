using System.Threading.Channels;

namespace LocalAgentService.Storage;

/// <summary>What the engine must do next for a run.</summary>
internal enum RunWorkKind
{
    /// <summary>Move a queued run through in_progress to the model's answer.</summary>
    Drive,

    /// <summary>Finish a cancel: cancelling → cancelled after the simulated delay.</summary>
    FinishCancel,
}

internal sealed record RunWork(RunRecord Run, RunWorkKind Kind);

/// <summary>The store's hand-off to the engine: state changes that need background work are queued here.</summary>
internal sealed class RunWorkQueue
{
    private readonly Channel<RunWork> channel = Channel.CreateUnbounded<RunWork>(new UnboundedChannelOptions { SingleReader = true });

    public void Enqueue(RunRecord run, RunWorkKind kind) => channel.Writer.TryWrite(new RunWork(run, kind));

    public ChannelReader<RunWork> Reader => channel.Reader;
}
