using AgentJobs.Batches;
using AgentJobs.Http;
using AgentJobs.Retention;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace AgentFunctions;

/// <summary>
/// The batch API (<see cref="AgentBatchesApi"/>) behind function-key HTTP triggers, and the batch orchestrator:
/// POST /api/agent-batches, GET /api/agent-batches/{id}, POST /api/agent-batches/{id}/cancel, DELETE /api/agent-batches/{id}.
/// </summary>
public sealed class BatchFunctions(AgentBatchesApi api, RetentionScheduleStarter retention)
{
    /// <summary>Function name of POST /api/agent-batches.</summary>
    public const string StartName = "StartAgentBatch";

    /// <summary>Function name of GET /api/agent-batches/{id}.</summary>
    public const string GetName = "GetAgentBatch";

    /// <summary>Function name of POST /api/agent-batches/{id}/cancel.</summary>
    public const string CancelName = "CancelAgentBatch";

    /// <summary>Function name of DELETE /api/agent-batches/{id}.</summary>
    public const string DeleteName = "DeleteAgentBatch";

    /// <summary>Validates a batch and schedules it: 202 with links, or 400 problem details naming the field.</summary>
    [Function(StartName)]
    public async Task<IResult> Start(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = AgentJobsRoutes.Batches)] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        await retention.EnsureStartedAsync(client, request.HttpContext.RequestAborted);
        return await api.StartAsync(request, client, request.HttpContext.RequestAborted);
    }

    /// <summary>Counts by outcome, progress and a page of per-item results (<c>?page=&amp;pageSize=</c>): 200, or 404.</summary>
    [Function(GetName)]
    public Task<IResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = AgentJobsRoutes.Batch)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        return api.GetAsync(request, id, client, request.HttpContext.RequestAborted);
    }

    /// <summary>Cancels every running item and starts no more: 202; 404; 409 finished.</summary>
    [Function(CancelName)]
    public Task<IResult> Cancel(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = AgentJobsRoutes.BatchCancel)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        return api.CancelAsync(request, id, client, request.HttpContext.RequestAborted);
    }

    /// <summary>Purges a finished batch with its items: 200; 404; 409 running.</summary>
    [Function(DeleteName)]
    public Task<IResult> Delete(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = AgentJobsRoutes.Batch)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        return api.DeleteAsync(request, id, client, request.HttpContext.RequestAborted);
    }

    /// <summary>The batch orchestrator (<see cref="AgentBatchOrchestrator"/>).</summary>
    [Function(AgentBatchOrchestrator.Name)]
    public static Task<AgentBatchProgress> AgentBatch([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new AgentBatchOrchestrator().RunAsync(context, context.GetInput<AgentBatchWork>()!);
    }
}
