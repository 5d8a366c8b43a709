namespace AgentJobs.Deltas;

/// <summary>
/// One entry of a streamed call's delta log: text the agent wrote, in order, as one flush of the call's
/// <see cref="DeltaWriter"/> recorded it (several stream deltas of the same message are joined into one entry).
/// </summary>
/// <param name="Seq">The entry's number within the call, from 0, gap-free (the event id's last part).</param>
/// <param name="RunId">The run (classic) or response (foundry) that wrote the text.</param>
/// <param name="ItemId">The message (classic) or output item (foundry) the text belongs to.</param>
/// <param name="Text">The text; empty on the marker entry that says the log was cut (<paramref name="Truncated"/>).</param>
/// <param name="StreamSequence">The protocol's sequence number of the last stream event in the entry (foundry), to resume after.</param>
/// <param name="AtUtc">When the entry's first text was read from the service's stream.</param>
/// <param name="Truncated">The call reached <see cref="DeltaLogOptions.MaxCharsPerCall"/>: nothing more is logged; the reply still arrives whole.</param>
public sealed record TextDelta(int Seq, string RunId, string? ItemId, string Text, long? StreamSequence, DateTime AtUtc, bool Truncated = false);

/// <summary>
/// Where streamed calls log the text deltas they read, so every host process (any worker, any event-stream reader) can
/// read them: in process for the in-memory backend; a table in the task hub's storage account for the Azure Storage
/// backend and the Functions app. Keyed by job (the orchestration instance that made the call) and call (the call's
/// idempotency key, shared by its retries). Durable history stays the source of truth: the log only shows text early.
/// </summary>
public interface IDeltaLog
{
    /// <summary>Appends entries of one call (one storage operation per call of this method).</summary>
    Task AppendAsync(string jobId, string callKey, IReadOnlyList<TextDelta> entries, CancellationToken cancellationToken);

    /// <summary>The call's entries numbered above <paramref name="afterSeq"/> (-1: all), in order.</summary>
    Task<IReadOnlyList<TextDelta>> ReadAsync(string jobId, string callKey, int afterSeq, CancellationToken cancellationToken);

    /// <summary>Deletes every entry of the job (retention, purge). Returns how many were deleted.</summary>
    Task<int> DeleteJobAsync(string jobId, CancellationToken cancellationToken);

    /// <summary>Storage operations made so far (appends, reads, deletes), for measurements.</summary>
    long Operations { get; }
}

/// <summary>Settings of the delta log.</summary>
public sealed class DeltaLogOptions
{
    /// <summary>How long text waits before it is written, at most (storage: each write is one operation).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Text pieces (stream deltas, about one token each) that make a write without waiting for the interval.</summary>
    public int MaxPiecesPerFlush { get; set; } = 64;

    /// <summary>Longest text of one entry, in characters (a table property holds 32 K UTF-16 characters).</summary>
    public int MaxEntryChars { get; set; } = 8_000;

    /// <summary>
    /// The cap of one streamed call's log, in characters: past it the call logs a <see cref="TextDelta.Truncated"/>
    /// marker and nothing more. A job's log is at most this many characters per streamed call (one per run start and
    /// tool round).
    /// </summary>
    public int MaxCharsPerCall { get; set; } = 100_000;

    /// <summary>The in-memory backend's settings: writes cost nothing, so text is flushed almost at once.</summary>
    public static DeltaLogOptions InMemory() => new() { FlushInterval = TimeSpan.FromMilliseconds(15) };
}
