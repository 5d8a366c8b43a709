using AgentJobs.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace AgentFunctions;

/// <summary>
/// The job list and the event stream (<see cref="AgentJobListApi"/>, <see cref="AgentJobEventsApi"/>) behind
/// function-key HTTP triggers. The stream is an <see cref="IResult"/> that writes Server-Sent Events to the response;
/// the ASP.NET Core integration runs it on the live HttpContext, so events reach the client as they are written.
/// Its history comes through the Durable client (the host's <c>StreamInstanceHistory</c>).
/// </summary>
public sealed class AgentJobLiveFunctions(AgentJobListApi list, AgentJobEventsApi events)
{
    /// <summary>Function name of GET /api/agent-jobs.</summary>
    public const string ListName = "ListAgentJobs";

    /// <summary>Function name of GET /api/agent-jobs/{id}/events.</summary>
    public const string EventsName = "StreamAgentJobEvents";

    /// <summary>A page of jobs, newest first; 400 problem details for bad filters.</summary>
    [Function(ListName)]
    public Task<IResult> List(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = AgentJobsRoutes.Jobs)] HttpRequest request,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        return list.ListAsync(request, client, request.HttpContext.RequestAborted);
    }

    /// <summary>The job's events as <c>text/event-stream</c>; 404 unknown job.</summary>
    [Function(EventsName)]
    public Task<IResult> Events(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = AgentJobsRoutes.JobEvents)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        return events.StreamAsync(request, id, client, request.HttpContext.RequestAborted);
    }
}
