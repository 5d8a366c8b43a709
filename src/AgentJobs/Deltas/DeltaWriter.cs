using Microsoft.Extensions.Logging;

namespace AgentJobs.Deltas;

/// <summary>
/// Writes one streamed call's text deltas to the <see cref="IDeltaLog"/>, batched: text waits at most
/// <see cref="DeltaLogOptions.FlushInterval"/>, or until <see cref="DeltaLogOptions.MaxPiecesPerFlush"/> pieces are
/// pending, and each flush is one append (one storage operation). Entries are numbered on from what the log already
/// holds for the call, so a retried call (another worker, after a kill) continues the log instead of overwriting it.
/// The adapters reach the writer of the call they serve through <see cref="Current"/> (set by the activity), so the
/// agent-service port keeps its shape. A failed write is logged and dropped: the log only shows text early, the reply
/// in durable history is the source of truth.
/// </summary>
public sealed class DeltaWriter : IAsyncDisposable
{
    static readonly AsyncLocal<DeltaWriter?> CurrentWriter = new();

    readonly IDeltaLog log;
    readonly DeltaLogOptions options;
    readonly ILogger logger;
    readonly Lock sync = new();
    readonly SemaphoreSlim gate = new(1, 1);
    readonly Dictionary<(string RunId, string? ItemId), int> logged = [];
    List<Piece> pending = [];
    Task? scheduled;
    CancellationTokenSource? hurry;
    long chars;
    bool truncated;
    bool markerPending;

    DeltaWriter(IDeltaLog log, string jobId, string callKey, DeltaLogOptions options, ILogger logger)
    {
        this.log = log;
        JobId = jobId;
        CallKey = callKey;
        this.options = options;
        this.logger = logger;
    }

    /// <summary>The writer of the streamed call the current activity serves; null outside one.</summary>
    public static DeltaWriter? Current
    {
        get => CurrentWriter.Value;
        internal set => CurrentWriter.Value = value;
    }

    /// <summary>The job (orchestration instance) the call belongs to.</summary>
    public string JobId { get; }

    /// <summary>The call's key.</summary>
    public string CallKey { get; }

    /// <summary>The number the next entry gets.</summary>
    public int NextSeq { get; private set; }

    /// <summary>The protocol sequence number of the last stream delta taken (foundry), to resume a stream after it.</summary>
    public long? LastStreamSequence { get; private set; }

    /// <summary>Appends made (storage operations for a storage log).</summary>
    public int Flushes { get; private set; }

    /// <summary>Text pieces taken (stream deltas).</summary>
    public int Pieces { get; private set; }

    /// <summary>How many characters of a message the log already holds for this call (what an earlier attempt logged).</summary>
    public int LoggedChars(string runId, string? itemId)
    {
        lock (sync)
        {
            return logged.GetValueOrDefault((runId, itemId));
        }
    }

    /// <summary>Opens the writer of a call, reading what the log already holds for it.</summary>
    public static async Task<DeltaWriter> OpenAsync(IDeltaLog log, string jobId, string callKey, DeltaLogOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(options);
        var writer = new DeltaWriter(log, jobId, callKey, options, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        foreach (var entry in await log.ReadAsync(jobId, callKey, -1, cancellationToken).ConfigureAwait(false))
        {
            writer.NextSeq = entry.Seq + 1;
            writer.chars += entry.Text.Length;
            writer.truncated |= entry.Truncated;
            writer.LastStreamSequence = entry.StreamSequence ?? writer.LastStreamSequence;
            var key = (entry.RunId, entry.ItemId);
            writer.logged[key] = writer.logged.GetValueOrDefault(key) + entry.Text.Length;
        }

        return writer;
    }

    /// <summary>Takes a text delta read from the stream.</summary>
    /// <param name="runId">The run or response.</param>
    /// <param name="itemId">The message or output item.</param>
    /// <param name="text">The text.</param>
    /// <param name="streamSequence">The stream event's sequence number, where the protocol has one.</param>
    public void Add(string runId, string? itemId, string text, long? streamSequence)
    {
        if (string.IsNullOrEmpty(text))
        {
            return;
        }

        CancellationTokenSource? now = null;
        lock (sync)
        {
            if (truncated)
            {
                return;
            }

            // A resumed stream (foundry, starting_after the last lifecycle event) repeats deltas already taken.
            if (streamSequence is { } number)
            {
                if (number <= LastStreamSequence)
                {
                    return;
                }

                LastStreamSequence = number;
            }

            if (chars + text.Length > options.MaxCharsPerCall)
            {
                text = text[..(int)Math.Max(0, options.MaxCharsPerCall - chars)];
                truncated = true;
                markerPending = true;
            }

            chars += text.Length;
            Pieces++;
            if (text.Length > 0)
            {
                pending.Add(new Piece(runId, itemId, text, streamSequence, DateTime.UtcNow));
                var key = (runId, itemId);
                logged[key] = logged.GetValueOrDefault(key) + text.Length;
            }

            if (scheduled is null)
            {
                hurry = new CancellationTokenSource();
                scheduled = FlushLaterAsync(hurry.Token);
            }

            if (pending.Count >= options.MaxPiecesPerFlush || truncated || pending.Sum(p => p.Text.Length) >= options.MaxEntryChars)
            {
                now = hurry;
            }
        }

        now?.Cancel();
    }

    /// <summary>Writes what is pending and waits for every write: the log then holds all the call read.</summary>
    public async Task CompleteAsync()
    {
        Task? waiting;
        CancellationTokenSource? now;
        lock (sync)
        {
            waiting = scheduled;
            now = hurry;
        }

        now?.Cancel();
        if (waiting is not null)
        {
            await waiting.ConfigureAwait(false);
        }

        await FlushAsync().ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await CompleteAsync().ConfigureAwait(false);
        gate.Dispose();
    }

    async Task FlushLaterAsync(CancellationToken soon)
    {
        await Task.Delay(options.FlushInterval, soon).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing | ConfigureAwaitOptions.ForceYielding);
        lock (sync)
        {
            scheduled = null;
            hurry = null;
        }

        await FlushAsync().ConfigureAwait(false);
    }

    async Task FlushAsync()
    {
        await gate.WaitAsync().ConfigureAwait(false);
        try
        {
            List<Piece> taken;
            bool marker;
            lock (sync)
            {
                (taken, pending) = (pending, []);
                marker = markerPending;
                markerPending = false;
            }

            var entries = new List<TextDelta>();
            foreach (var piece in taken)
            {
                if (entries.Count > 0 && entries[^1] is var last && last.RunId == piece.RunId && last.ItemId == piece.ItemId
                    && last.Text.Length + piece.Text.Length <= options.MaxEntryChars)
                {
                    entries[^1] = last with { Text = last.Text + piece.Text, StreamSequence = piece.StreamSequence ?? last.StreamSequence };
                }
                else
                {
                    entries.Add(new TextDelta(NextSeq + entries.Count, piece.RunId, piece.ItemId, piece.Text, piece.StreamSequence, piece.AtUtc));
                }
            }

            if (marker)
            {
                var lastPiece = taken.LastOrDefault();
                entries.Add(new TextDelta(NextSeq + entries.Count, lastPiece?.RunId ?? "", lastPiece?.ItemId, "", lastPiece?.StreamSequence, DateTime.UtcNow, Truncated: true));
            }

            if (entries.Count == 0)
            {
                return;
            }

            NextSeq += entries.Count;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    Flushes++;
                    await log.AppendAsync(JobId, CallKey, entries, CancellationToken.None).ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (attempt < 2)
                {
                    logger.DeltaWriteRetrying(ex, CallKey);
                }
                catch (Exception ex)
                {
                    logger.DeltasNotLogged(ex, entries[0].Seq, entries[^1].Seq, CallKey);
                    return;
                }
            }
        }
        finally
        {
            gate.Release();
        }
    }

    sealed record Piece(string RunId, string? ItemId, string Text, long? StreamSequence, DateTime AtUtc);
}
