using AgentJobs.Deltas;
using DurableTask.Core.History;

namespace AgentJobs.Events;

/// <summary>
/// Reads a job's events from durable history (<see cref="IJobHistorySource"/>) and projects them
/// (<see cref="JobEventProjector"/>), with the text deltas of its streamed calls from <paramref name="deltas"/> when
/// given. One reader serves one stream: the histories of pollers that have ended no longer change, so each is read
/// once; a call's deltas are read once it has ended, and only the new ones while it runs.
/// </summary>
/// <param name="source">Where history is read.</param>
/// <param name="jobId">The job.</param>
/// <param name="deltas">The delta log; null for no <see cref="JobEventTypes.Delta"/> events.</param>
public sealed class JobEventReader(IJobHistorySource source, string jobId, IDeltaLog? deltas = null)
{
    readonly Dictionary<string, IReadOnlyList<HistoryEvent>> endedPollers = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<TextDelta>> callDeltas = new(StringComparer.Ordinal);
    readonly HashSet<string> endedCalls = new(StringComparer.Ordinal);

    /// <summary>History reads made so far (for tests and measurements).</summary>
    public int HistoryReads { get; private set; }

    /// <summary>The streamed call still open at the last read (its deltas are the newest events), if any.</summary>
    public StreamedCall? OpenCall { get; private set; }

    /// <summary>Every event of the job so far, in id order, and whether the job has ended; a finished job's deltas are skipped (a watcher joining late).</summary>
    public Task<(IReadOnlyList<JobEvent> Events, bool Finished)> ReadAsync(CancellationToken cancellationToken) =>
        ReadAsync(JobEventId.Start, cancellationToken);

    /// <summary>
    /// Every event of the job so far, in id order, and whether the job has ended. Deltas after <paramref name="after"/>
    /// are read, except for a stream that starts (no <c>Last-Event-ID</c>) after the job ended: it gets the reply event
    /// instead of replaying every delta. A client that reconnects gets exactly the events after its last one, deltas too.
    /// </summary>
    public async Task<(IReadOnlyList<JobEvent> Events, bool Finished)> ReadAsync(JobEventId after, CancellationToken cancellationToken)
    {
        var job = await HistoryAsync(jobId, cancellationToken).ConfigureAwait(false);
        var live = new Dictionary<string, IReadOnlyList<HistoryEvent>>(StringComparer.Ordinal);
        foreach (var (pollerId, ended) in JobEventProjector.Pollers(job))
        {
            if (endedPollers.ContainsKey(pollerId))
            {
                continue;
            }

            var history = await HistoryAsync(pollerId, cancellationToken).ConfigureAwait(false);
            if (ended)
            {
                endedPollers[pollerId] = history;
            }
            else
            {
                live[pollerId] = history;
            }
        }

        OpenCall = null;
        if (deltas is not null)
        {
            var finished = job.Any(e => e is ExecutionCompletedEvent or ExecutionTerminatedEvent);
            foreach (var call in JobEventProjector.StreamedCalls(job))
            {
                if (call.Position >= after.Position && (!finished || after != JobEventId.Start))
                {
                    await ReadDeltasAsync(call, cancellationToken).ConfigureAwait(false);
                }

                if (call.Open)
                {
                    OpenCall = call;
                    break; // later events are held back
                }
            }
        }

        return JobEventProjector.Project(
            job, id => endedPollers.TryGetValue(id, out var h) ? h : live.GetValueOrDefault(id), key => callDeltas.GetValueOrDefault(key));
    }

    /// <summary>The open call's deltas written since the last read (they follow every event read so far); empty without one.</summary>
    public async Task<IReadOnlyList<JobEvent>> ReadOpenCallAsync(CancellationToken cancellationToken)
    {
        if (OpenCall is not { } call)
        {
            return [];
        }

        var before = callDeltas.TryGetValue(call.Key, out var known) ? known.Count : 0;
        await ReadDeltasAsync(call, cancellationToken).ConfigureAwait(false);
        return [.. callDeltas[call.Key].Skip(before).Select(d => JobEventProjector.DeltaEvent(call.Position, d))];
    }

    async Task ReadDeltasAsync(StreamedCall call, CancellationToken cancellationToken)
    {
        if (endedCalls.Contains(call.Key))
        {
            return;
        }

        if (!callDeltas.TryGetValue(call.Key, out var known))
        {
            callDeltas[call.Key] = known = [];
        }

        var read = await deltas!.ReadAsync(jobId, call.Key, known.Count == 0 ? -1 : known[^1].Seq, cancellationToken).ConfigureAwait(false);
        known.AddRange(read);
        if (!call.Open)
        {
            endedCalls.Add(call.Key); // every write ended before the call did
        }
    }

    async Task<IReadOnlyList<HistoryEvent>> HistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        HistoryReads++;
        return await source.GetHistoryAsync(instanceId, cancellationToken).ConfigureAwait(false);
    }
}
