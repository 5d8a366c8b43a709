using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Mcp;

/// <summary>
/// The MCP SDK's Streamable HTTP handling as one request handler, for hosts that cannot map endpoints (an Azure
/// Functions HTTP trigger). It maps the SDK's own endpoints (<c>MapMcp</c>) onto a private route builder once
/// and dispatches each request to the one for its method, so the SDK does all of the protocol work. Stateless
/// mode maps POST only; other methods get 405 with <c>Allow: POST</c>.
/// </summary>
public sealed class AgentJobsMcpEndpoint(IServiceProvider services)
{
    readonly Lazy<IReadOnlyDictionary<string, RequestDelegate>> handlers = new(() => Build(services));

    /// <summary>
    /// Handles one MCP request. <paramref name="client"/> is the durable client the tools use (the Functions
    /// app's [DurableClient] binding); null takes it from DI.
    /// </summary>
    public Task HandleAsync(HttpContext context, DurableTaskClient? client = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (client is not null)
        {
            context.Items[AgentJobsMcpTools.DurableClientItem] = client;
        }

        if (handlers.Value.TryGetValue(context.Request.Method.ToUpperInvariant(), out var handler))
        {
            return handler(context);
        }

        context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        context.Response.Headers.Allow = string.Join(", ", handlers.Value.Keys.Order(StringComparer.Ordinal));
        return Task.CompletedTask;
    }

    /// <summary>An <see cref="IResult"/> that handles the request (for triggers that return results).</summary>
    public IResult Handle(DurableTaskClient? client = null) => new Result(this, client);

    static Dictionary<string, RequestDelegate> Build(IServiceProvider services)
    {
        var routes = new RouteCapture(services);
        routes.MapMcp();
        var map = new Dictionary<string, RequestDelegate>(StringComparer.Ordinal);
        foreach (var endpoint in routes.DataSources.SelectMany(d => d.Endpoints))
        {
            if (endpoint.RequestDelegate is { } handler && endpoint.Metadata.GetMetadata<HttpMethodMetadata>() is { } methods)
            {
                foreach (var method in methods.HttpMethods)
                {
                    map.TryAdd(method.ToUpperInvariant(), handler);
                }
            }
        }

        return map.Count > 0 ? map : throw new InvalidOperationException("MapMcp mapped no endpoints; call AddAgentJobsMcpServer first.");
    }

    sealed class Result(AgentJobsMcpEndpoint endpoint, DurableTaskClient? client) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => endpoint.HandleAsync(httpContext, client);
    }

    sealed class RouteCapture(IServiceProvider services) : IEndpointRouteBuilder
    {
        public IServiceProvider ServiceProvider => services;

        public ICollection<EndpointDataSource> DataSources { get; } = [];

        public IApplicationBuilder CreateApplicationBuilder() => new ApplicationBuilder(services);
    }
}
