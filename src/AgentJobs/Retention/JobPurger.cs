using AgentJobs.Application;
using AgentJobs.Batches;
using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Retention;

/// <summary>
/// Removes the durable state of finished jobs and batches: the instance itself and every instance it owns, found by
/// id prefix <c>&lt;id&gt;:</c> — a job's run pollers (<c>&lt;jobId&gt;:poll:&lt;n&gt;</c>), a batch's items
/// (<c>&lt;batchId&gt;:item:&lt;n&gt;</c>) and their pollers. Nothing that still runs is purged: a tree with a
/// running member is left whole. Used by <c>DELETE /api/agent-jobs/{id}</c> and by the scheduled purges of both
/// hosts. Idempotent: a purge interrupted half-way is finished by the next one (owned instances go first, the
/// owner last, so the owner is still there to be found).
/// </summary>
public sealed class JobPurger(RetentionOptions options, ILogger<JobPurger> logger, AgentJobs.Deltas.IDeltaLog? deltas = null)
{
    /// <summary>The most instances one scheduled purge looks at (the next run continues).</summary>
    public const int MaxInstancesPerRun = 10_000;

    /// <summary>Orchestrations that own their state (everything else belongs to one of these by id prefix).</summary>
    public static IReadOnlySet<string> OwnerNames { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        AgentJobOrchestrator.Name, AgentBatchOrchestrator.Name, Sessions.AgentSessionOrchestrator.Name,
    };

    /// <summary>The retention settings in force.</summary>
    public RetentionOptions Options { get; } = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>Purges one finished job or batch (by orchestrator name) and every instance it owns.</summary>
    /// <param name="client">The durable client.</param>
    /// <param name="id">The job or batch id.</param>
    /// <param name="orchestratorName">The orchestrator the id must belong to (e.g. <see cref="AgentJobOrchestrator.Name"/>); another name counts as unknown.</param>
    /// <param name="cancellationToken">Cancels the purge (what was purged stays purged).</param>
    public async Task<PurgeOutcome> PurgeAsync(DurableTaskClient client, string id, string orchestratorName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (string.IsNullOrWhiteSpace(id) || InstanceIds.IsOwned(id))
        {
            return PurgeOutcome.NotFound;
        }

        var retention = new AgentRetentionClient(client);
        var instance = await retention.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (instance is null || instance.Name != orchestratorName)
        {
            return PurgeOutcome.NotFound;
        }

        if (!instance.IsCompleted)
        {
            return PurgeOutcome.StillRunning;
        }

        var purged = await PurgeTreeAsync(retention, id, cancellationToken).ConfigureAwait(false);
        return purged < 0 ? PurgeOutcome.StillRunning : PurgeOutcome.Purged(purged);
    }

    /// <summary>
    /// Purges every job and batch that finished (last update) more than <see cref="RetentionOptions.RetentionDays"/>
    /// before <paramref name="now"/>, with what it owns. Does nothing when the retention is 0 (keep forever).
    /// </summary>
    /// <param name="client">The durable client.</param>
    /// <param name="now">The current time (tests pass a later one to make finished jobs old).</param>
    /// <param name="cancellationToken">Stops the run between instances.</param>
    public async Task<RetentionRun> PurgeExpiredAsync(DurableTaskClient client, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (!Options.PurgesExpired)
        {
            return new RetentionRun(null, 0, 0, 0);
        }

        var threshold = now - TimeSpan.FromDays(Options.RetentionDays);
        var retention = new AgentRetentionClient(client);

        // Created before the threshold is necessary for finished before it; the query narrows, the loop decides.
        var expired = new List<string>();
        var examined = 0;
        await foreach (var instance in retention.ListFinishedAsync(threshold, cancellationToken).ConfigureAwait(false))
        {
            if (++examined > MaxInstancesPerRun)
            {
                break;
            }

            if (OwnerNames.Contains(instance.Name) && !InstanceIds.IsOwned(instance.InstanceId) && instance.LastUpdatedAt <= threshold)
            {
                expired.Add(instance.InstanceId);
            }
        }

        int owners = 0, instances = 0, kept = 0;
        foreach (var id in expired)
        {
            var purged = await PurgeTreeAsync(retention, id, cancellationToken).ConfigureAwait(false);
            if (purged < 0)
            {
                kept++;
                continue;
            }

            owners++;
            instances += purged;
        }

        if (owners > 0 || kept > 0)
        {
            logger.RetentionPurged(owners, Options.RetentionDays, instances, kept);
        }

        return new RetentionRun(threshold, owners, instances, kept);
    }

    /// <summary>Purges the owned instances, then the owner. Returns the number purged, or -1 (nothing purged) when an owned instance still runs.</summary>
    async Task<int> PurgeTreeAsync(AgentRetentionClient retention, string id, CancellationToken cancellationToken)
    {
        var owned = new List<string>();
        await foreach (var instance in retention.ListOwnedAsync(id, cancellationToken).ConfigureAwait(false))
        {
            if (!instance.IsCompleted)
            {
                logger.PurgeSkippedRunning(id, instance.InstanceId);
                return -1;
            }

            owned.Add(instance.InstanceId);
        }

        var purged = 0;
        foreach (var instanceId in owned)
        {
            purged += await retention.PurgeAsync(instanceId, cancellationToken).ConfigureAwait(false);
        }

        purged += await retention.PurgeAsync(id, cancellationToken).ConfigureAwait(false);
        if (deltas is not null)
        {
            // The text deltas expire with the job: its own and those of every instance it owned (session turns).
            foreach (var instanceId in owned.Append(id))
            {
                try
                {
                    await deltas.DeleteJobAsync(instanceId, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.PurgeDeltasNotDeleted(ex, instanceId);
                }
            }
        }

        logger.Purged(id, owned.Count);
        return purged;
    }
}

/// <summary>What a purge of one job or batch did.</summary>
/// <param name="Found">Whether the id named a job (or batch) of the expected kind.</param>
/// <param name="Running">Whether it (or something it owns) still runs, so nothing was purged.</param>
/// <param name="Instances">Instances purged: the owner and what it owned.</param>
public sealed record PurgeOutcome(bool Found, bool Running, int Instances)
{
    /// <summary>No job or batch has the id.</summary>
    public static PurgeOutcome NotFound { get; } = new(false, false, 0);

    /// <summary>It still runs; nothing was purged.</summary>
    public static PurgeOutcome StillRunning { get; } = new(true, true, 0);

    /// <summary>Purged, with the number of instances removed.</summary>
    public static PurgeOutcome Purged(int instances) => new(true, false, instances);
}

/// <summary>What one scheduled purge did.</summary>
/// <param name="Threshold">Finished before this time counts as expired; null when retention is 0 (nothing purged).</param>
/// <param name="Purged">Jobs and batches purged.</param>
/// <param name="Instances">Instances purged, owned ones included (pollers, batch items).</param>
/// <param name="Kept">Expired ones kept because something they own still runs.</param>
public sealed record RetentionRun(DateTimeOffset? Threshold, int Purged, int Instances, int Kept);
