using Microsoft.Extensions.Configuration;

namespace AgentJobs.Retention;

/// <summary>
/// How long finished jobs (and batches) keep their durable state: orchestration history, input, output and
/// custom status of the job, its run pollers and, for a batch, its items. Settings <c>AgentJobs__RetentionDays</c>
/// and <c>AgentJobs__PurgeIntervalMinutes</c>.
/// </summary>
public sealed class RetentionOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "AgentJobs";

    /// <summary>Default retention: 7 days.</summary>
    public const int DefaultRetentionDays = 7;

    /// <summary>
    /// Days a finished job's state is kept after it finished (its last update), in whole days; 0 keeps it forever.
    /// Default <see cref="DefaultRetentionDays"/>.
    /// </summary>
    public int RetentionDays { get; set; } = DefaultRetentionDays;

    /// <summary>
    /// Minutes between scheduled purges of the local host's background loop (default 60). The Functions app purges
    /// on its own timer (hourly).
    /// </summary>
    public int PurgeIntervalMinutes { get; set; } = 60;

    /// <summary>Whether anything is ever purged by schedule.</summary>
    public bool PurgesExpired => RetentionDays > 0;

    /// <summary>Reads <c>AgentJobs:RetentionDays</c> and <c>AgentJobs:PurgeIntervalMinutes</c>.</summary>
    /// <exception cref="ArgumentException">A value is out of range (negative days, interval below 1 minute).</exception>
    public static RetentionOptions FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new RetentionOptions();
        configuration.GetSection(SectionName).Bind(options);
        if (options.RetentionDays < 0)
        {
            throw new ArgumentException($"AgentJobs__RetentionDays must be 0 (keep forever) or a number of days; got {options.RetentionDays}.");
        }

        if (options.PurgeIntervalMinutes < 1)
        {
            throw new ArgumentException($"AgentJobs__PurgeIntervalMinutes must be at least 1; got {options.PurgeIntervalMinutes}.");
        }

        return options;
    }
}
