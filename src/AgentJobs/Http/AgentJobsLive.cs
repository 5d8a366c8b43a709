using AgentJobs.Application;
using AgentJobs.Events;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentJobs.Http;

/// <summary>Settings of the event stream (configuration section <c>AgentJobs</c>).</summary>
public sealed class AgentJobEventsOptions
{
    /// <summary>The longest a stream stays open before it closes itself and the client reconnects (default 200 s, under the Functions HTTP limit of about 230 s).</summary>
    public int EventStreamMaxSeconds { get; set; } = 200;

    /// <summary>Seconds between comment heartbeats on an idle stream (default 15).</summary>
    public int EventStreamHeartbeatSeconds { get; set; } = 15;

    /// <summary>How often the stream reads the job's history, in milliseconds (default 500).</summary>
    public int EventStreamPollMilliseconds { get; set; } = 500;

    /// <summary>
    /// While a streamed call writes text, how often the stream reads the call's delta log between history reads, in
    /// milliseconds (default 50; one storage read each on the Azure Storage backend).
    /// </summary>
    public int EventStreamDeltaPollMilliseconds { get; set; } = 50;
}

/// <summary>Registers the job list, the event stream and the dashboard.</summary>
public static class AgentJobsLiveServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="AgentJobListApi"/>, <see cref="AgentJobEventsApi"/>, the dashboard (<see cref="Dashboard.AgentJobsDashboard"/>)
    /// and their options. No history source is registered: the stream reads through the request's Durable client unless
    /// the host registers an <see cref="IJobHistorySource"/> of its own.
    /// </summary>
    public static IServiceCollection AddAgentJobsLive(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<AgentJobEventsOptions>().BindConfiguration(AgentJobsApiOptions.SectionName);
        services.TryAddSingleton<AgentJobListApi>();
        services.TryAddSingleton<AgentJobEventsApi>();
        services.TryAddSingleton<Dashboard.AgentJobsDashboard>();
        return services;
    }
}
