using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Http;

/// <summary>
/// The agent-jobs API as minimal-API endpoints, for hosts that route with ASP.NET Core (<c>serve</c>): the routes of
/// <see cref="AgentJobsRoutes"/> under <c>/api</c>, each onto the same handler the Functions app's trigger calls.
/// </summary>
public static class AgentJobsEndpoints
{
    /// <summary>Maps POST/GET <c>/api/agent-jobs</c>, GET <c>{id}</c>, POST <c>{id}/cancel</c>, POST <c>{id}/approvals</c> and GET <c>{id}/events</c>.</summary>
    /// <returns>The <c>/api</c> group the routes are in.</returns>
    public static RouteGroupBuilder MapAgentJobsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/" + AgentJobsRoutes.ApiPrefix);
        api.MapPost(AgentJobsRoutes.Jobs, StartAsync);
        api.MapGet(AgentJobsRoutes.Job, GetAsync);
        api.MapPost(AgentJobsRoutes.JobCancel, CancelAsync);
        api.MapPost(AgentJobsRoutes.JobApprovals, DecideAsync);
        api.MapGet(AgentJobsRoutes.Jobs, ListAsync);
        api.MapGet(AgentJobsRoutes.JobEvents, EventsAsync);
        return api;
    }

    static Task<IResult> StartAsync(HttpRequest request, [AsParameters] AgentJobsServices services, CancellationToken aborted) =>
        services.Jobs.StartAsync(request, services.Client, aborted);

    static Task<IResult> GetAsync(HttpRequest request, string id, [AsParameters] AgentJobsServices services, CancellationToken aborted) =>
        services.Jobs.GetAsync(request, id, services.Client, aborted);

    static Task<IResult> CancelAsync(HttpRequest request, string id, [AsParameters] AgentJobsServices services, CancellationToken aborted) =>
        services.Jobs.CancelAsync(request, id, services.Client, aborted);

    static Task<IResult> DecideAsync(HttpRequest request, string id, [AsParameters] AgentJobsServices services, CancellationToken aborted) =>
        services.Jobs.DecideAsync(request, id, services.Client, aborted);

    static Task<IResult> ListAsync(HttpRequest request, [AsParameters] AgentJobsServices services, CancellationToken aborted) =>
        services.List.ListAsync(request, services.Client, aborted);

    static Task<IResult> EventsAsync(HttpRequest request, string id, [AsParameters] AgentJobsServices services, CancellationToken aborted) =>
        services.Events.StreamAsync(request, id, services.Client, aborted);
}

/// <summary>What the job endpoints take from the request's services, bound as one parameter (<c>[AsParameters]</c>).</summary>
/// <param name="Jobs">Start, read, cancel and decide.</param>
/// <param name="List">The job list.</param>
/// <param name="Events">The event stream.</param>
/// <param name="Client">The durable client the handlers act through.</param>
public readonly record struct AgentJobsServices(AgentJobsApi Jobs, AgentJobListApi List, AgentJobEventsApi Events, DurableTaskClient Client);
