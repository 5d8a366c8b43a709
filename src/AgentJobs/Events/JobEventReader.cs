using DurableTask.Core.History;

namespace AgentJobs.Events;

/// <summary>
/// Reads a job's events from durable history (<see cref="IJobHistorySource"/>) and projects them
/// (<see cref="JobEventProjector"/>). One reader serves one stream: the histories of pollers that have ended no longer
/// change, so each is read once.
/// </summary>
public sealed class JobEventReader(IJobHistorySource source, string jobId)
{
    readonly Dictionary<string, IReadOnlyList<HistoryEvent>> endedPollers = new(StringComparer.Ordinal);

    /// <summary>History reads made so far (for tests and measurements).</summary>
    public int HistoryReads { get; private set; }

    /// <summary>Every event of the job so far, in id order, and whether the job has ended.</summary>
    public async Task<(IReadOnlyList<JobEvent> Events, bool Finished)> ReadAsync(CancellationToken cancellationToken)
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

        return JobEventProjector.Project(job, id => endedPollers.TryGetValue(id, out var h) ? h : live.GetValueOrDefault(id));
    }

    async Task<IReadOnlyList<HistoryEvent>> HistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        HistoryReads++;
        return await source.GetHistoryAsync(instanceId, cancellationToken).ConfigureAwait(false);
    }
}
