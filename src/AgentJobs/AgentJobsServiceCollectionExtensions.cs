using AgentJobs.AgentService;
using AgentJobs.AgentService.Classic;
using AgentJobs.Application;
using AgentJobs.Configuration;
using AgentJobs.Deltas;
using AgentJobs.Http;
using AgentJobs.Tools;
using AgentJobs.Tools.Mcp;
using AgentJobs.Workflow;
using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace AgentJobs;

/// <summary>Wires the workflow into a host's DI container; both hosts call this.</summary>
public static class AgentJobsServiceCollectionExtensions
{
    /// <summary>
    /// Registers the agent-service adapter chosen by configuration, the activities, the built-in tools, the MCP
    /// servers jobs may take tools from (<c>AgentJobs:McpServers</c>) and the HTTP API. Validates the agent-service settings now, so a bad or missing one stops the host at startup with
    /// a message naming it.
    /// </summary>
    /// <exception cref="AgentServiceConfigurationException">A setting is missing or malformed.</exception>
    public static IServiceCollection AddAgentJobs(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        var options = new AgentServiceOptions();
        configuration.GetSection(AgentServiceOptions.SectionName).Bind(options);
        options.ProjectConnectionString ??= configuration[AgentServiceOptions.ConnectionStringSetting];
        var endpoint = AgentServiceEndpoint.Resolve(options);

        var apiOptions = AgentJobsApiOptions.FromConfiguration(configuration);

        services.TryAddSingleton(McpToolServers.FromConfiguration(configuration));
        services.TryAddSingleton(Telemetry.AgentJobsTelemetryOptions.FromConfiguration(configuration));
        services.AddAgentJobsOperations(configuration); // retention, batches
        services.AddDeltaLogFromConfiguration(configuration); // live text: a table in the task hub's storage account, or in process
        return services.AddAgentJobs(endpoint, apiOptions);
    }

    /// <summary>Registers the workflow against an already resolved endpoint.</summary>
    public static IServiceCollection AddAgentJobs(this IServiceCollection services, AgentServiceEndpoint endpoint, AgentJobsApiOptions? apiOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(endpoint);

        services.AddSingleton(endpoint);
        services.TryAddSingleton<TokenCredential>(_ => new DefaultAzureCredential());
        services.TryAddSingleton<IAgentService>(sp =>
        {
            var credential = endpoint.ApiKey is null ? sp.GetRequiredService<TokenCredential>() : null!;
            return endpoint.Protocol switch
            {
                AgentProtocols.Foundry => AgentServiceClients.CreateFoundryAgentService(endpoint, credential),
                _ => new ClassicAgentService(AgentServiceClients.CreateAssistantClient(endpoint, credential)),
            };
        });
        return services.AddAgentJobsCore(apiOptions);
    }

    /// <summary>Registers everything but the agent-service adapter (tests and custom hosts bring their own).</summary>
    public static IServiceCollection AddAgentJobsCore(this IServiceCollection services, AgentJobsApiOptions? apiOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddSingleton(apiOptions ?? new AgentJobsApiOptions());
        services.AddBuiltInAgentTools();
        services.TryAddSingleton(McpToolServers.None);
        services.TryAddSingleton(sp => new McpToolSource(sp.GetRequiredService<McpToolServers>(), sp.GetService<ILoggerFactory>()));
        services.TryAddSingleton(new Telemetry.AgentJobsTelemetryOptions()); // content capture off unless configured
        services.TryAddInMemoryDeltaLog();
        services.TryAddSingleton<AgentJobActivities>();
        services.TryAddSingleton<AgentJobRequestValidator>();
        services.TryAddSingleton(sp => new AgentJobPolicy(
            sp.GetService<AgentServiceEndpoint>()?.DefaultModel ?? Contracts.AgentJobDefaults.Model, sp.GetRequiredService<AgentJobsApiOptions>()));
        services.TryAddSingleton<AgentJobsApi>();
        services.TryAddSingleton<AgentSessionsApi>();
        services.TryAddSingleton<Sessions.SessionMailbox>();
        services.AddAgentJobsProblemDetails();
        services.AddAgentJobsOperations();
        services.AddAgentJobsLive(); // job list, event stream, dashboard (AgentJobs.Http.AgentJobsLiveServiceCollectionExtensions)
        return services;
    }
}
