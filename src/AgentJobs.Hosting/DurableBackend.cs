using AgentJobs.Deltas;
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

    /// <summary>
    /// This worker's name in the task hub's partition table (Azure Storage only); null for the machine name. Each
    /// process sharing a task hub needs its own: two with the same name both take every partition. A process
    /// restarted with its old name takes its partitions back at once instead of waiting for their leases to expire.
    /// </summary>
    public string? WorkerId { get; set; }

    /// <summary>
    /// How long a partition lease lasts without renewal (Azure Storage only); null for the provider's 30 s. When a
    /// worker dies, the others take its partitions once this has passed since its last renewal.
    /// </summary>
    public TimeSpan? PartitionLease { get; set; }

    /// <summary>Whether the persistent Azure Storage backend is selected.</summary>
    public bool UsesStorage => !string.IsNullOrWhiteSpace(StorageConnectionString);

    /// <summary>A short description for logs and banners (never includes the connection string's key).</summary>
    public string Describe() => UsesStorage
        ? $"Azure Storage (task hub {TaskHub}, worker {WorkerId ?? Environment.MachineName}" +
          (PartitionLease is { } lease ? $", partition lease {lease.TotalSeconds:0.#} s)" : ")")
        : "in-memory";
}

/// <summary>Chooses the backend from <see cref="DurableBackendOptions"/>.</summary>
public static class DurableBackendServiceCollectionExtensions
{
    /// <summary>Adds the backend selected by <paramref name="options"/>, a worker with <paramref name="configureTasks"/>, and a client.</summary>
    public static IServiceCollection AddDurableBackend(this IServiceCollection services, DurableBackendOptions options, Action<DurableTaskRegistry> configureTasks)
    {
        ArgumentNullException.ThrowIfNull(options);

        // The delta log (live text) lives where the backend's state does: the task hub's storage account, or the process.
        return options.UsesStorage
            ? services.AddTableDeltaLog(options.StorageConnectionString!, options.TaskHub)
                .AddAzureStorageDurableBackend(options.StorageConnectionString!, options.TaskHub, configureTasks, options.WorkerId, options.PartitionLease)
            : services.AddInMemoryDeltaLog().AddInMemoryDurableBackend(configureTasks);
    }
}
