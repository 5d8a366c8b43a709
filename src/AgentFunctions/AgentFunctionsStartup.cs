using AgentJobs;
using AgentJobs.Mcp;
using AgentJobs.Telemetry;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;

namespace AgentFunctions;

/// <summary>
/// The Functions app's service registration, called by Program and by the tests, so both build exactly the same
/// container.
/// </summary>
public static class AgentFunctionsStartup
{
    /// <summary>
    /// Registers OpenTelemetry for the isolated worker (exported to Azure Monitor) and the agent-jobs workflow. Validates the agent
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

        // Worker-side telemetry with OpenTelemetry (host.json sets "telemetryMode": "OpenTelemetry", so the host's
        // own telemetry and the worker's share one trace): the worker's invocation spans, the agent jobs' spans and
        // metrics, outgoing HTTP calls, and logs. Exported to Application Insights when a connection string is set;
        // with APPLICATIONINSIGHTS_AUTHENTICATION_STRING set by infra, with the managed identity (no key).
        var telemetry = services.AddOpenTelemetry()
            .UseFunctionsWorkerDefaults()
            .WithTracing(tracing => tracing.AddAgentJobsInstrumentation())
            .WithMetrics(metrics => metrics.AddAgentJobsInstrumentation());
        if (configuration[AzureMonitorSettings.ConnectionStringSetting] is { Length: > 0 } connectionString)
        {
            telemetry.UseAzureMonitorExporter(exporter =>
            {
                exporter.ConnectionString = connectionString;
                exporter.Credential = AzureMonitorSettings.Credential(configuration[AzureMonitorSettings.AuthenticationStringSetting]);
            });
        }

        return services;
    }
}
