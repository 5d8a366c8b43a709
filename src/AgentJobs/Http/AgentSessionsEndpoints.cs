using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Http;

/// <summary>
/// The agent-sessions API as minimal-API endpoints (<c>serve</c>): the session routes of <see cref="AgentJobsRoutes"/>
/// under <c>/api</c>, each onto the same handler the Functions app's trigger calls.
/// </summary>
public static class AgentSessionsEndpoints
{
    /// <summary>
    /// Maps POST/GET <c>/api/agent-sessions</c>, GET/DELETE <c>{id}</c>, POST/GET <c>{id}/turns</c>, GET
    /// <c>{id}/turns/{turn}</c>, POST <c>{id}/cancel-turn</c> and POST <c>{id}/approvals</c>.
    /// </summary>
    /// <returns>The <c>/api</c> group the routes are in.</returns>
    public static RouteGroupBuilder MapAgentSessionsApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/" + AgentJobsRoutes.ApiPrefix);
        api.MapPost(AgentJobsRoutes.Sessions, StartAsync);
        api.MapGet(AgentJobsRoutes.Sessions, ListAsync);
        api.MapGet(AgentJobsRoutes.Session, GetAsync);
        api.MapDelete(AgentJobsRoutes.Session, EndAsync);
        api.MapPost(AgentJobsRoutes.SessionTurns, SendTurnAsync);
        api.MapGet(AgentJobsRoutes.SessionTurns, ListTurnsAsync);
        api.MapGet(AgentJobsRoutes.SessionTurn, GetTurnAsync);
        api.MapPost(AgentJobsRoutes.SessionCancelTurn, CancelTurnAsync);
        api.MapPost(AgentJobsRoutes.SessionApprovals, DecideAsync);
        return api;
    }

    static Task<IResult> StartAsync(HttpRequest request, [AsParameters] AgentSessionsServices services, CancellationToken aborted) =>
        services.Sessions.StartAsync(request, services.Client, aborted);

    static Task<IResult> ListAsync(HttpRequest request, [AsParameters] AgentSessionsServices services, CancellationToken aborted) =>
        services.List.ListSessionsAsync(request, services.Client, aborted);

    static Task<IResult> GetAsync(HttpRequest request, string id, [AsParameters] AgentSessionsServices services, CancellationToken aborted) =>
        services.Sessions.GetAsync(request, id, services.Client, aborted);

    static Task<IResult> EndAsync(HttpRequest request, string id, [AsParameters] AgentSessionsServices services, CancellationToken aborted) =>
        services.Sessions.EndAsync(request, id, services.Client, aborted);

    static Task<IResult> SendTurnAsync(HttpRequest request, string id, [AsParameters] AgentSessionsServices services, CancellationToken aborted) =>
        services.Sessions.SendTurnAsync(request, id, services.Client, aborted);

    static Task<IResult> ListTurnsAsync(HttpRequest request, string id, [AsParameters] AgentSessionsServices services, CancellationToken aborted) =>
        services.Sessions.ListTurnsAsync(request, id, services.Client, aborted);

    static Task<IResult> GetTurnAsync(HttpRequest request, string id, string turn, [AsParameters] AgentSessionsServices services, CancellationToken aborted) =>
        services.Sessions.GetTurnAsync(request, id, turn, services.Client, aborted);

    static Task<IResult> CancelTurnAsync(HttpRequest request, string id, [AsParameters] AgentSessionsServices services, CancellationToken aborted) =>
        services.Sessions.CancelTurnAsync(request, id, services.Client, aborted);

    static Task<IResult> DecideAsync(HttpRequest request, string id, [AsParameters] AgentSessionsServices services, CancellationToken aborted) =>
        services.Sessions.DecideAsync(request, id, services.Client, aborted);
}

/// <summary>What the session endpoints take from the request's services, bound as one parameter (<c>[AsParameters]</c>).</summary>
/// <param name="Sessions">The session handlers.</param>
/// <param name="List">The session list.</param>
/// <param name="Client">The durable client the handlers act through.</param>
public readonly record struct AgentSessionsServices(AgentSessionsApi Sessions, AgentJobListApi List, DurableTaskClient Client);
