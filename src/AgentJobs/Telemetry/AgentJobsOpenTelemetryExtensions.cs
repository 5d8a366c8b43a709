using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AgentJobs.Telemetry;

/// <summary>
/// What a host adds to its OpenTelemetry providers to get the agent jobs' traces and metrics; both hosts call
/// these, and add their exporters.
/// </summary>
public static class AgentJobsOpenTelemetryExtensions
{
    /// <summary>
    /// Traces: the agent jobs' source, the Durable Task SDK's source (orchestration, activity and timer spans, with
    /// the trace context it carries from the scheduling call into the orchestration), and outgoing HTTP calls (the
    /// agent service, MCP servers) without the gRPC calls between the Durable worker and its sidecar, which would
    /// otherwise add a span per work item. URL query values are redacted by the HTTP instrumentation; headers (keys)
    /// are never recorded.
    /// </summary>
    public static TracerProviderBuilder AddAgentJobsInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder
            .AddSource(AgentJobsTelemetry.SourceName, AgentJobsTelemetry.DurableTaskSourceName)
            .AddHttpClientInstrumentation(http => http.FilterHttpRequestMessage = request => !IsGrpc(request));
    }

    /// <summary>Metrics: the agent jobs' meter and the HTTP client's (<c>http.client.request.duration</c>).</summary>
    public static MeterProviderBuilder AddAgentJobsInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(AgentJobsTelemetry.SourceName).AddHttpClientInstrumentation();
    }

    /// <summary>Whether a request is a gRPC call (the Durable worker and client talking to their sidecar or host).</summary>
    public static bool IsGrpc(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.Content?.Headers.ContentType?.MediaType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true ||
               request.RequestUri?.AbsolutePath.StartsWith("/TaskHubSidecarService/", StringComparison.Ordinal) == true;
    }
}
