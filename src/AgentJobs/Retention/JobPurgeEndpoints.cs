using AgentJobs.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Retention;

/// <summary>The job purge as a minimal-API endpoint (<c>serve</c>), onto the same handler (<see cref="JobPurgeApi"/>) the Functions app's trigger calls.</summary>
public static class JobPurgeEndpoints
{
    /// <summary>Maps DELETE <c>/api/agent-jobs/{id}</c>.</summary>
    /// <returns>The endpoint.</returns>
    public static RouteHandlerBuilder MapJobPurge(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapDelete("/" + AgentJobsRoutes.ApiPrefix + "/" + AgentJobsRoutes.Job, DeleteAsync);

    static Task<IResult> DeleteAsync(HttpRequest request, string id, JobPurgeApi purge, DurableTaskClient client, CancellationToken aborted) =>
        purge.DeleteAsync(request, id, client, aborted);
}
