using System.Collections.Concurrent;

namespace AgentJobs.Deltas;

/// <summary>The delta log of the in-memory backend: in process, like the backend's own state.</summary>
public sealed class InMemoryDeltaLog : IDeltaLog
{
    readonly ConcurrentDictionary<string, ConcurrentDictionary<string, List<TextDelta>>> jobs = new(StringComparer.Ordinal);
    long operations;

    /// <inheritdoc/>
    public long Operations => Interlocked.Read(ref operations);

    /// <inheritdoc/>
    public Task AppendAsync(string jobId, string callKey, IReadOnlyList<TextDelta> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        Interlocked.Increment(ref operations);
        var log = jobs.GetOrAdd(jobId, _ => new(StringComparer.Ordinal)).GetOrAdd(callKey, _ => []);
        lock (log)
        {
            foreach (var entry in entries)
            {
                // A write repeated after a lost answer carries the same numbers: keep the first.
                if (log.Count == entry.Seq)
                {
                    log.Add(entry);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<TextDelta>> ReadAsync(string jobId, string callKey, int afterSeq, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref operations);
        if (!jobs.TryGetValue(jobId, out var calls) || !calls.TryGetValue(callKey, out var log))
        {
            return Task.FromResult<IReadOnlyList<TextDelta>>([]);
        }

        lock (log)
        {
            var from = Math.Max(0, afterSeq + 1);
            return Task.FromResult<IReadOnlyList<TextDelta>>(from >= log.Count ? [] : log.GetRange(from, log.Count - from));
        }
    }

    /// <inheritdoc/>
    public Task<int> DeleteJobAsync(string jobId, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref operations);
        return Task.FromResult(jobs.TryRemove(jobId, out var calls) ? calls.Values.Sum(l => l.Count) : 0);
    }
}
