using System.Reflection;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// The endpoints <c>serve</c> maps, read from its routing, against the Functions app's HTTP triggers as the Functions
/// host indexes them (the functions.metadata the Worker SDK generates, whose routes FunctionsMetadataTests pins):
/// every API route the same URL and method under <c>/api</c>, and besides them only the dashboard at the root and
/// MCP at <c>/mcp</c>, where <c>serve</c> has always put them. Guards the one route table and the endpoint mapping
/// beside the handlers without a third hand-written list of routes.
/// </summary>
public sealed class ServeRouteTableTests(ServeApiHost host) : IClassFixture<ServeApiHost>
{
    [Fact]
    public void Serve_maps_exactly_the_functions_app_api_routes_under_api_plus_the_dashboard_and_mcp()
    {
        var served = host.Host.Services.GetServices<EndpointDataSource>()
            .SelectMany(source => source.Endpoints)
            .OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => (Method: m, Route: e.RoutePattern.RawText!)))
            .ToList();

        var functionsApi = FunctionsHttpTriggers()
            .Where(t => t.Route is not ("mcp" or "dashboard/{file?}"))
            .SelectMany(t => t.Methods.Select(m => (Method: m.ToUpperInvariant(), Route: "/api/" + t.Route)))
            .ToList();
        Assert.Equal(
            functionsApi.Concat([("GET", "/"), ("GET", "/dashboard/{file}")]).Order(),
            served.Where(e => !e.Route.StartsWith("/" + LocalHost.McpPath, StringComparison.Ordinal)).Order());
        Assert.Contains(served, e => e.Method == "POST" && e.Route.TrimEnd('/') == "/" + LocalHost.McpPath);
    }

    static List<(string Route, string[] Methods)> FunctionsHttpTriggers()
    {
        var configuration = typeof(ServeRouteTableTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(root.FullName, "AgentFunctions.sln")))
        {
            root = root.Parent ?? throw new InvalidOperationException($"AgentFunctions.sln not found above {AppContext.BaseDirectory}.");
        }

        var metadata = Path.Combine(root.FullName, "src", "AgentFunctions", "bin", configuration, "net10.0", "functions.metadata");
        Assert.True(File.Exists(metadata), $"{metadata} is missing: build src/AgentFunctions first.");
        using var document = JsonDocument.Parse(File.ReadAllText(metadata));
        return
        [
            .. document.RootElement.EnumerateArray()
                .SelectMany(f => f.GetProperty("bindings").EnumerateArray())
                .Where(b => b.GetProperty("type").GetString() == "httpTrigger")
                .Select(b => (b.GetProperty("route").GetString()!, b.GetProperty("methods").EnumerateArray().Select(m => m.GetString()!).ToArray())),
        ];
    }
}
