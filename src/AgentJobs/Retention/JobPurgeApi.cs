using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Workflow;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Retention;

/// <summary>
/// <c>DELETE /api/agent-jobs/{id}</c>, served by both hosts: purges one finished job's durable state (the job and
/// its run pollers) at once instead of waiting for retention. 200 <c>{id, purgedInstances}</c>; 404 unknown (or
/// already purged); 409 while it runs. Errors are problem details.
/// </summary>
public sealed class JobPurgeApi(JobPurger purger, ILogger<JobPurgeApi> logger)
{
    /// <summary>Purges a finished job.</summary>
    public async Task<IResult> DeleteAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (await PartOfAsync(client, id, cancellationToken).ConfigureAwait(false) is { } owned)
        {
            return owned;
        }

        var outcome = await purger.PurgeAsync(client, id, AgentJobOrchestrator.Name, cancellationToken).ConfigureAwait(false);
        if (!outcome.Found)
        {
            return ApiResults.Problem(StatusCodes.Status404NotFound, "Agent job not found", $"No agent job has the id '{id}'.", null);
        }

        if (outcome.Running)
        {
            return ApiResults.Problem(StatusCodes.Status409Conflict, "Agent job still running",
                $"Agent job '{id}' has not finished; cancel it (POST .../cancel) and delete it once it has.", null);
        }

        logger.JobPurged(id, outcome.Instances);
        return ApiResults.Json(new PurgedJob(id, outcome.Instances));
    }

    /// <summary>
    /// 409 naming the owner when <paramref name="id"/> is a job that belongs to a batch (<c>{batch}:item:{n}</c>) or a
    /// session (<c>{session}:turn:{n}</c>): GET shows it as a job, but its state goes with its owner's.
    /// </summary>
    static async Task<IResult?> PartOfAsync(DurableTaskClient client, string id, CancellationToken cancellationToken)
    {
        if (!InstanceIds.TryParseOwnedJob(id, out var owner, out var isBatchItem, out var ordinal) ||
            await new AgentRetentionClient(client).GetAsync(id!, cancellationToken).ConfigureAwait(false) is not { } instance ||
            instance.Name is not (AgentJobOrchestrator.Name or Sessions.AgentTurnOrchestrator.Name))
        {
            return null;
        }

        var number = ordinal.TrimStart('0') is { Length: > 0 } n ? n : "0";
        return isBatchItem
            ? ApiResults.Problem(StatusCodes.Status409Conflict, "Agent job belongs to a batch",
                $"Agent job '{id}' is item {number} of agent batch '{owner}'; it is deleted with its batch: DELETE /api/agent-batches/{owner} once the batch has finished.", null)
            : ApiResults.Problem(StatusCodes.Status409Conflict, "Agent job belongs to a session",
                $"'{id}' is turn {number} of agent session '{owner}'; it is deleted with its session, when retention purges the ended session.", null);
    }
}

/// <summary>The DELETE response.</summary>
/// <param name="Id">The purged job's id.</param>
/// <param name="PurgedInstances">Durable instances removed: the job and its run pollers.</param>
public sealed record PurgedJob(string Id, int PurgedInstances);
