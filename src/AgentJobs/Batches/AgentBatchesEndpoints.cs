using AgentJobs.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Batches;

/// <summary>The batch API as minimal-API endpoints (<c>serve</c>), onto the same handlers (<see cref="AgentBatchesApi"/>) the Functions app's triggers call.</summary>
public static class AgentBatchesEndpoints
{
    /// <summary>Maps POST <c>/api/agent-batches</c>, GET <c>{id}</c>, POST <c>{id}/cancel</c> and DELETE <c>{id}</c>.</summary>
    /// <returns>The <c>/api</c> group the routes are in.</returns>
    public static RouteGroupBuilder MapAgentBatchesApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/" + AgentJobsRoutes.ApiPrefix);
        api.MapPost(AgentJobsRoutes.Batches, StartAsync);
        api.MapGet(AgentJobsRoutes.Batch, GetAsync);
        api.MapPost(AgentJobsRoutes.BatchCancel, CancelAsync);
        api.MapDelete(AgentJobsRoutes.Batch, DeleteAsync);
        return api;
    }

    static Task<IResult> StartAsync(HttpRequest request, AgentBatchesApi batches, DurableTaskClient client, CancellationToken aborted) =>
        batches.StartAsync(request, client, aborted);

    static Task<IResult> GetAsync(HttpRequest request, string id, AgentBatchesApi batches, DurableTaskClient client, CancellationToken aborted) =>
        batches.GetAsync(request, id, client, aborted);

    static Task<IResult> CancelAsync(HttpRequest request, string id, AgentBatchesApi batches, DurableTaskClient client, CancellationToken aborted) =>
        batches.CancelAsync(request, id, client, aborted);

    static Task<IResult> DeleteAsync(HttpRequest request, string id, AgentBatchesApi batches, DurableTaskClient client, CancellationToken aborted) =>
        batches.DeleteAsync(request, id, client, aborted);
}
