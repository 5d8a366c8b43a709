using System.Collections.Concurrent;
using System.Diagnostics;
using AgentJobs.Http;
using AgentJobs.Telemetry;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AgentFunctions.Local;

/// <summary>
/// OpenTelemetry for the local host, on only when asked: an OTLP exporter (<c>--otlp-endpoint</c> or the standard
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>) for traces and metrics, and/or an in-process <see cref="SpanCollector"/>
/// (<c>run --trace</c>). Traces are the agent jobs' (<see cref="AgentJobsOpenTelemetryExtensions"/>) plus, for
/// <c>serve</c>, the API's incoming requests, where a job's trace starts.
/// </summary>
internal static class LocalTelemetry
{
    /// <summary>The standard OTLP endpoint setting.</summary>
    public const string EndpointSetting = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>The standard OTLP protocol setting; the local host defaults it to <c>http/protobuf</c>, the specification's default.</summary>
    public const string ProtocolSetting = "OTEL_EXPORTER_OTLP_PROTOCOL";

    /// <summary>The service name spans carry unless <c>OTEL_SERVICE_NAME</c> says otherwise.</summary>
    public const string ServiceName = "AgentFunctions.Local";

    /// <exception cref="LocalHostException">The endpoint is not an absolute http(s) URL.</exception>
    public static void Configure(IHostApplicationBuilder builder, LocalHostOptions options, bool serve)
    {
        var endpoint = options.OtlpEndpoint ?? builder.Configuration[EndpointSetting];
        if (string.IsNullOrWhiteSpace(endpoint) && options.Spans is null)
        {
            return;
        }

        var otlp = !string.IsNullOrWhiteSpace(endpoint);
        if (otlp)
        {
            if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            {
                throw new LocalHostException($"--otlp-endpoint (or {EndpointSetting}) must be an absolute http(s) URL such as http://localhost:4318, not '{endpoint}'.");
            }

            // The exporter reads the standard settings from configuration; the flag is one of them.
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
            {
                [EndpointSetting] = endpoint,
                [ProtocolSetting] = builder.Configuration[ProtocolSetting] ?? "http/protobuf",
            });
        }

        var serviceNameSet = !string.IsNullOrWhiteSpace(builder.Configuration["OTEL_SERVICE_NAME"]);
        builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource =>
            {
                if (!serviceNameSet)
                {
                    resource.AddService(ServiceName);
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddAgentJobsInstrumentation();
                if (serve)
                {
                    tracing.AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = IsApiRequest);
                }

                if (options.Spans is { } spans)
                {
                    tracing.AddProcessor(spans);
                }

                if (otlp)
                {
                    tracing.AddOtlpExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddAgentJobsInstrumentation();
                if (otlp)
                {
                    metrics.AddOtlpExporter();
                }
            });
    }

    /// <summary>
    /// The requests whose server spans are kept: the agent-jobs API and MCP. The embedded agent service and the
    /// Durable sidecar run in this process too; their requests show as the workflow's HTTP client spans instead.
    /// </summary>
    static bool IsApiRequest(HttpContext context) =>
        context.Request.Path.StartsWithSegments("/" + AgentJobsRoutes.JobsPath, StringComparison.OrdinalIgnoreCase) ||
        context.Request.Path.StartsWithSegments("/" + AgentJobsRoutes.BatchesPath, StringComparison.OrdinalIgnoreCase) ||
        context.Request.Path.StartsWithSegments("/" + AgentJobsRoutes.Mcp, StringComparison.OrdinalIgnoreCase);
}

/// <summary>Keeps every ended span in memory (for <c>run --trace</c>).</summary>
internal sealed class SpanCollector : BaseProcessor<Activity>
{
    readonly ConcurrentQueue<Activity> spans = new();

    /// <summary>The spans ended so far.</summary>
    public IReadOnlyList<Activity> Spans => [.. spans];

    /// <inheritdoc/>
    public override void OnEnd(Activity data) => spans.Enqueue(data);
}
