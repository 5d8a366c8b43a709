using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using ModelContextProtocol.Protocol;

namespace AgentJobs.Mcp;

/// <summary>Registers the agent-jobs MCP server (both hosts call this).</summary>
public static class AgentJobsMcpServiceCollectionExtensions
{
    /// <summary>
    /// Adds the MCP server with the agent-jobs tools (<see cref="AgentJobsMcpTools"/>) over Streamable HTTP in
    /// stateless mode: every request stands alone, so any worker of a scaled-out app can serve it. Map it with
    /// <c>MapMcp("/mcp")</c> (ASP.NET Core) or serve it through <see cref="AgentJobsMcpEndpoint"/> (Functions).
    /// </summary>
    public static IServiceCollection AddAgentJobsMcpServer(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(AgentJobsMcpEndpoint)))
        {
            return services;
        }

        services.TryAddScoped<AgentJobsMcpRequest>();
        services.TryAddSingleton<AgentJobsMcpEndpoint>();
        services.AddMcpServer(options =>
            {
                options.ServerInfo = new Implementation { Name = "AgentFunctions", Version = "1.0" };
                options.ServerInstructions = "Run Azure AI agent jobs durably: start_agent_job, then poll get_agent_job until its runtimeStatus is Completed; cancel_agent_job stops one gracefully.";
            })
            .WithHttpTransport(transport =>
            {
                transport.Stateless = true;

                // In stateless mode the server's services are the request's; remember the request for the tools.
                transport.ConfigureSessionOptions = (context, _, _) =>
                {
                    context.RequestServices.GetRequiredService<AgentJobsMcpRequest>().HttpContext = context;
                    return Task.CompletedTask;
                };
            })
            .WithTools(AgentJobsMcpTools.Create());
        return services;
    }
}
