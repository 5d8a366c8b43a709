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

        logger.LogInformation("Purged agent job {JobId} ({Instances} instances).", id, outcome.Instances);
        return ApiResults.Json(new PurgedJob(id, outcome.Instances));
    }
}

/// <summary>The DELETE response.</summary>
/// <param name="Id">The purged job's id.</param>
/// <param name="PurgedInstances">Durable instances removed: the job and its run pollers.</param>
public sealed record PurgedJob(string Id, int PurgedInstances);
