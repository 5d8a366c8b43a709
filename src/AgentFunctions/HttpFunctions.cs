using AgentJobs.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace AgentFunctions;

/// <summary>
/// The HTTP API (<see cref="AgentJobsApi"/>) behind function-key HTTP triggers. Each returns the API's
/// <see cref="IResult"/>; the ASP.NET Core integration (ConfigureFunctionsWebApplication) executes it into the
/// response, so headers such as Location and problem-details content types pass through unchanged.
/// Routes are under the host's "api" prefix: /api/agent-jobs, /api/agent-jobs/{id}, /api/agent-jobs/{id}/cancel.
/// </summary>
public sealed class HttpFunctions(AgentJobsApi api, AgentJobs.Retention.RetentionScheduleStarter retention)
{
    /// <summary>Function name of POST /api/agent-jobs.</summary>
    public const string StartName = "StartAgentJob";

    /// <summary>Function name of GET /api/agent-jobs/{id}.</summary>
    public const string GetName = "GetAgentJob";

    /// <summary>Function name of POST /api/agent-jobs/{id}/cancel.</summary>
    public const string CancelName = "CancelAgentJob";

    /// <summary>Function name of POST /api/agent-jobs/{id}/approvals.</summary>
    public const string DecideName = "DecideAgentJobToolCall";

    /// <summary>Validates a job request and schedules it: 202 with links, or 400 problem details naming the field.</summary>
    [Function(StartName)]
    public async Task<IResult> Start(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = AgentJobsRoutes.Jobs)] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        await retention.EnsureStartedAsync(client, Aborted(request)); // the scheduled purge (RetentionFunctions), once per process
        return await api.StartAsync(request, client, Aborted(request));
    }

    /// <summary>A job's status, progress and result: 200, or 404.</summary>
    [Function(GetName)]
    public Task<IResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = AgentJobsRoutes.Job)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        api.GetAsync(request, id, client, Aborted(request));

    /// <summary>Asks a running job to cancel: 202; 404 unknown; 409 finished; 400 bad body.</summary>
    [Function(CancelName)]
    public Task<IResult> Cancel(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = AgentJobsRoutes.JobCancel)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        api.CancelAsync(request, id, client, Aborted(request));

    /// <summary>Decides a tool call the job holds for approval: 202; 404 unknown job or call; 409 decided, nothing pending or finished; 400 bad body.</summary>
    [Function(DecideName)]
    public Task<IResult> Decide(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = AgentJobsRoutes.JobApprovals)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        api.DecideAsync(request, id, client, Aborted(request));

    static CancellationToken Aborted(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.HttpContext.RequestAborted;
    }
}
