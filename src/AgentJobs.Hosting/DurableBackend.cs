using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Hosting;

/// <summary>Which embedded Durable Task backend a host runs, and where its state lives.</summary>
public sealed class DurableBackendOptions
{
    /// <summary>The default task hub name of the local host.</summary>
    public const string DefaultTaskHub = "AgentJobsLocal";

    /// <summary>
    /// An Azure Storage connection string (<c>UseDevelopmentStorage=true</c> for Azurite on its default ports).
    /// Null or empty selects the in-memory backend, whose state dies with the process.
    /// </summary>
    public string? StorageConnectionString { get; set; }

    /// <summary>The task hub (Azure Storage queue/table/container prefix). Letters and digits, 3–45 characters.</summary>
    public string TaskHub { get; set; } = DefaultTaskHub;

    /// <summary>Whether the persistent Azure Storage backend is selected.</summary>
    public bool UsesStorage => !string.IsNullOrWhiteSpace(StorageConnectionString);

    /// <summary>A short description for logs and banners (never includes the connection string's key).</summary>
    public string Describe() => UsesStorage ? $"Azure Storage (task hub {TaskHub})" : "in-memory";
}

/// <summary>Chooses the backend from <see cref="DurableBackendOptions"/>.</summary>
public static class DurableBackendServiceCollectionExtensions
{
    /// <summary>Adds the backend selected by <paramref name="options"/>, a worker with <paramref name="configureTasks"/>, and a client.</summary>
    public static IServiceCollection AddDurableBackend(this IServiceCollection services, DurableBackendOptions options, Action<DurableTaskRegistry> configureTasks)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.UsesStorage
            ? services.AddAzureStorageDurableBackend(options.StorageConnectionString!, options.TaskHub, configureTasks)
            : services.AddInMemoryDurableBackend(configureTasks);
    }
}
