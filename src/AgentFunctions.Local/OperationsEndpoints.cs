using AgentJobs.Batches;
using AgentJobs.Http;
using AgentJobs.Retention;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;

namespace AgentFunctions.Local;

/// <summary>The operations endpoints of <c>serve</c>, on the same handlers as the Functions app: job purge and the batch API.</summary>
public static class OperationsEndpoints
{
    /// <summary>
    /// Maps <c>DELETE /api/agent-jobs/{id}</c> (<see cref="JobPurgeApi"/>) and <c>/api/agent-batches</c>
    /// (<see cref="AgentBatchesApi"/>: POST, GET {id}, POST {id}/cancel, DELETE {id}).
    /// </summary>
    public static void MapAgentJobsOperations(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapDelete("/" + AgentJobsApi.RoutePrefix + "/{id}", (HttpRequest request, string id, JobPurgeApi handlers, DurableTaskClient client, CancellationToken ct) =>
            handlers.DeleteAsync(request, id, client, ct));

        var batches = endpoints.MapGroup("/" + AgentBatchesApi.RoutePrefix);
        batches.MapPost("", (HttpRequest request, AgentBatchesApi handlers, DurableTaskClient client, CancellationToken ct) =>
            handlers.StartAsync(request, client, ct));
        batches.MapGet("{id}", (HttpRequest request, string id, AgentBatchesApi handlers, DurableTaskClient client, CancellationToken ct) =>
            handlers.GetAsync(request, id, client, ct));
        batches.MapPost("{id}/cancel", (HttpRequest request, string id, AgentBatchesApi handlers, DurableTaskClient client, CancellationToken ct) =>
            handlers.CancelAsync(request, id, client, ct));
        batches.MapDelete("{id}", (HttpRequest request, string id, AgentBatchesApi handlers, DurableTaskClient client, CancellationToken ct) =>
            handlers.DeleteAsync(request, id, client, ct));
    }
}
