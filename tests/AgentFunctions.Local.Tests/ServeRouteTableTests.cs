using AgentFunctions.Local.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// The endpoints <c>serve</c> maps, read from its routing: exactly the Functions app's HTTP routes under <c>/api</c>
/// (FunctionSurfaceTests pins those to the same URLs), plus the dashboard at the root and MCP at <c>/mcp</c>.
/// Guards the one route table (AgentJobsRoutes) and the endpoint mapping beside the handlers against a URL drifting.
/// </summary>
public sealed class ServeRouteTableTests(ServeApiHost host) : IClassFixture<ServeApiHost>
{
    [Fact]
    public void Serve_maps_the_api_routes_of_the_functions_app_under_api_plus_the_dashboard_and_mcp()
    {
        var endpoints = host.Host.Services.GetServices<EndpointDataSource>()
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (Method: m, Route: e.RoutePattern.RawText!)))
            .ToList();

        Assert.Equal(
            [
                ("DELETE", "/api/agent-batches/{id}"),
                ("DELETE", "/api/agent-jobs/{id}"),
                ("DELETE", "/api/agent-sessions/{id}"),
                ("GET", "/"),
                ("GET", "/api/agent-batches/{id}"),
                ("GET", "/api/agent-jobs"),
                ("GET", "/api/agent-jobs/{id}"),
                ("GET", "/api/agent-jobs/{id}/events"),
                ("GET", "/api/agent-sessions"),
                ("GET", "/api/agent-sessions/{id}"),
                ("GET", "/api/agent-sessions/{id}/turns"),
                ("GET", "/api/agent-sessions/{id}/turns/{turn}"),
                ("GET", "/dashboard/{file}"),
                ("POST", "/api/agent-batches"),
                ("POST", "/api/agent-batches/{id}/cancel"),
                ("POST", "/api/agent-jobs"),
                ("POST", "/api/agent-jobs/{id}/approvals"),
                ("POST", "/api/agent-jobs/{id}/cancel"),
                ("POST", "/api/agent-sessions"),
                ("POST", "/api/agent-sessions/{id}/approvals"),
                ("POST", "/api/agent-sessions/{id}/cancel-turn"),
                ("POST", "/api/agent-sessions/{id}/turns"),
            ],
            endpoints.Where(e => !e.Route.StartsWith("/mcp", StringComparison.Ordinal))
                .Order());
        Assert.Contains(endpoints, e => e.Method == "POST" && e.Route.TrimEnd('/') == "/" + LocalHost.McpPath);
    }
}
