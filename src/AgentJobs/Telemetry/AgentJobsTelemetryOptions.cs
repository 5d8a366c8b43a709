using Microsoft.Extensions.Configuration;

namespace AgentJobs.Telemetry;

/// <summary>
/// What agent-job telemetry may record. Section <c>AgentJobs:Telemetry</c> (environment
/// <c>AgentJobs__Telemetry__CaptureMessageContent</c>); the GenAI conventions' own switch,
/// <c>OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT</c>, turns it on too.
/// </summary>
public sealed class AgentJobsTelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "AgentJobs:Telemetry";

    /// <summary>The GenAI conventions' environment switch for message content.</summary>
    public const string ConventionSetting = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

    /// <summary>
    /// Record prompt, reply, instructions and tool arguments/outputs on spans (<c>gen_ai.input.messages</c>,
    /// <c>gen_ai.output.messages</c>, <c>gen_ai.system_instructions</c>, <c>gen_ai.tool.call.arguments</c>,
    /// <c>gen_ai.tool.call.result</c>). Off by default: content can hold personal data. Keys and headers are never
    /// recorded either way.
    /// </summary>
    public bool CaptureMessageContent { get; set; }

    /// <summary>Reads the options from configuration.</summary>
    public static AgentJobsTelemetryOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new AgentJobsTelemetryOptions();
        configuration.GetSection(SectionName).Bind(options);
        if (bool.TryParse(configuration[ConventionSetting], out var convention) && convention)
        {
            options.CaptureMessageContent = true;
        }

        return options;
    }
}
