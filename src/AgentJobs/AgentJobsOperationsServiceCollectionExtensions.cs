using AgentJobs.Batches;
using AgentJobs.Retention;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentJobs;

/// <summary>Registers the operations side of agent jobs: retention (purge), batches.</summary>
public static class AgentJobsOperationsServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="RetentionOptions"/> (from <paramref name="configuration"/> when given, else the defaults unless
    /// already registered), <see cref="JobPurger"/>, <see cref="JobPurgeApi"/> and <see cref="AgentBatchesApi"/>.
    /// </summary>
    /// <exception cref="ArgumentException">A retention setting is out of range.</exception>
    public static IServiceCollection AddAgentJobsOperations(this IServiceCollection services, IConfiguration? configuration = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (configuration is not null)
        {
            services.TryAddSingleton(RetentionOptions.FromConfiguration(configuration));
        }

        services.TryAddSingleton(new RetentionOptions());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<JobPurger>();
        services.TryAddSingleton<JobPurgeApi>();
        services.TryAddSingleton<AgentBatchesApi>();
        services.TryAddSingleton<RetentionActivities>();
        services.TryAddSingleton<RetentionScheduleStarter>();
        return services;
    }

    /// <summary>Adds the scheduled purge loop of hosts without a timer trigger (the local host).</summary>
    public static IServiceCollection AddRetentionLoop(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddHostedService<RetentionLoop>();
        return services;
    }
}
