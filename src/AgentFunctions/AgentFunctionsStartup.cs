using AgentJobs;
using AgentJobs.Mcp;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentFunctions;

/// <summary>
/// The Functions app's service registration, called by Program and by the tests, so both build exactly the same
/// container.
/// </summary>
public static class AgentFunctionsStartup
{
    /// <summary>The logger provider that Application Insights registers with a Warning-and-above default rule.</summary>
    const string ApplicationInsightsLoggerProvider =
        "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider";

    /// <summary>
    /// Registers Application Insights for the isolated worker and the agent-jobs workflow. Validates the agent
    /// service settings now: a missing or malformed one throws, naming it, and the worker does not start.
    /// </summary>
    /// <exception cref="AgentJobs.Configuration.AgentServiceConfigurationException">A setting is missing or malformed.</exception>
    public static IServiceCollection ConfigureServices(IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        // Validate first, so a bad setting is the first thing a failed start reports.
        services.AddAgentJobs(configuration);
        services.AddAgentJobsMcpServer(); // served by McpFunctions at /api/mcp

        // Worker-side telemetry (the host sends its own request telemetry). Reads APPLICATIONINSIGHTS_CONNECTION_STRING;
        // with APPLICATIONINSIGHTS_AUTHENTICATION_STRING set by infra it authenticates with the managed identity.
        services.AddApplicationInsightsTelemetryWorkerService();
        services.ConfigureFunctionsApplicationInsights();

        // Application Insights adds a rule that keeps only warnings from the worker's ILogger; let host.json's
        // levels (Information by default) apply instead.
        services.Configure<LoggerFilterOptions>(options =>
        {
            var rule = options.Rules.FirstOrDefault(r => r.ProviderName == ApplicationInsightsLoggerProvider);
            if (rule is not null)
            {
                options.Rules.Remove(rule);
            }
        });
        return services;
    }
}
