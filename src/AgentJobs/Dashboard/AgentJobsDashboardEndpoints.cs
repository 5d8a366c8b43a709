using AgentJobs.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace AgentJobs.Dashboard;

/// <summary>The dashboard as minimal-API endpoints (<c>serve</c>), onto the same <see cref="AgentJobsDashboard.Serve"/> the Functions app's trigger calls.</summary>
public static class AgentJobsDashboardEndpoints
{
    /// <summary>Where <c>serve</c> serves the dashboard's script and style sheet (the page itself is at <c>/</c>).</summary>
    public const string AssetsPath = "/" + AgentJobsRoutes.Dashboard + "/";

    /// <summary>Maps the page at <c>GET /</c> and its files at <c>GET /dashboard/{file}</c>, behind whatever key check the host puts in front of the API.</summary>
    /// <returns>The builder the endpoints were added to.</returns>
    public static IEndpointRouteBuilder MapAgentJobsDashboard(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/", Page);
        endpoints.MapGet("/" + AgentJobsRoutes.DashboardFile, File);
        return endpoints;
    }

    static IResult Page(HttpRequest request, AgentJobsDashboard dashboard) => dashboard.Serve(request, null, AssetsPath);

    static IResult File(HttpRequest request, string file, AgentJobsDashboard dashboard) => dashboard.Serve(request, file, AssetsPath);
}
