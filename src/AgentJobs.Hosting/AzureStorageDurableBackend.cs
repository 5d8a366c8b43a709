using DurableTask.AzureStorage;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Hosting;

/// <summary>
/// The persistent backend: the Azure Storage provider (the one <c>func start</c> uses with Azurite) behind the
/// in-process host's public gRPC sidecar on a free 127.0.0.1 port. Orchestration state survives a restart of the
/// process; a restarted host picks unfinished jobs up where they were.
/// </summary>
/// <remarks>
/// <para>
/// The provider's defaults stall under load (activity cap 10 with a 500 ms re-check) and back off idle queue
/// polling to 30 s; both are tuned here (measured figures in the README). Its durable timers can fire up to a second
/// early; the workflow re-checks its deadlines after every timer.
/// </para>
/// <para>
/// The sidecar hands the provider events it cannot store: it recorded a sub-orchestration call as a row without
/// <c>EventType</c>, after which the parent job's history could not be loaded ("The TableEntity did not contain a
/// 'EventType' property") once its first run poller finished. <see cref="AzureStorageSidecarAdapter"/> stores the
/// Durable Task Core event instead; its remarks have the details.
/// </para>
/// <para>
/// Restart: messages a killed process had dequeued stay invisible for the queue visibility timeout (5 min by
/// default), so a restarted host would sit idle that long. <see cref="QueueVisibilityTimeout"/> shortens it, and the
/// adapter renews a running activity's lock every <see cref="ActivityLockRenewal"/>, which the sidecar does not.
/// The restarted process takes its partitions back at once (same worker id: the machine name).
/// </para>
/// </remarks>
public static class AzureStorageDurableBackend
{
    /// <summary>Work items the provider runs at once, per dispatcher.</summary>
    public const int MaxConcurrentWorkItems = 1_000;

    /// <summary>The longest wait between polls of an idle queue (the provider's default is 30 s).</summary>
    public static readonly TimeSpan MaxQueuePollingInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a dequeued control-queue or activity message stays hidden (the provider's default is 5 min): after a
    /// crash, the restarted host sees the messages the dead process held within this time.
    /// </summary>
    public static readonly TimeSpan QueueVisibilityTimeout = TimeSpan.FromSeconds(15);

    /// <summary>How often a running activity's message lock is renewed (well inside <see cref="QueueVisibilityTimeout"/>).</summary>
    public static readonly TimeSpan ActivityLockRenewal = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Renewals of a partition lease per lease interval. The table partition manager renews (and looks for partitions
    /// to claim or balance) once per acquire interval; the provider's 30 s lease and 10 s interval make three, so a
    /// worker can miss two renewals before losing its partitions. <see cref="CreateSettings"/> keeps that ratio for a
    /// shorter lease.
    /// </summary>
    public const int PartitionLeaseRenewals = 3;

    /// <summary>The shortest partition lease accepted: the acquire interval (a third of it) must stay at least a second.</summary>
    public static readonly TimeSpan MinPartitionLease = TimeSpan.FromSeconds(3);

    /// <summary>Adds the Azure Storage backend, a worker with <paramref name="configureTasks"/>, and a client.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="connectionString">An Azure Storage connection string; <c>UseDevelopmentStorage=true</c> for Azurite.</param>
    /// <param name="taskHub">The task hub name.</param>
    /// <param name="configureTasks">Registers orchestrators and activities.</param>
    /// <param name="workerId">This worker's name in the partition table; null for the machine name.</param>
    /// <param name="partitionLease">The partition lease; null for the provider's 30 s.</param>
    public static IServiceCollection AddAzureStorageDurableBackend(
        this IServiceCollection services, string connectionString, string taskHub, Action<DurableTaskRegistry> configureTasks,
        string? workerId = null, TimeSpan? partitionLease = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(taskHub);
        ArgumentNullException.ThrowIfNull(configureTasks);

        services.AddSingleton(sp => new AzureStorageOrchestrationService(
            CreateSettings(connectionString, taskHub, sp.GetService<ILoggerFactory>(), workerId, partitionLease)));
        services.AddGrpcSidecarBackend(
            sp => new AzureStorageSidecarAdapter(sp.GetRequiredService<AzureStorageOrchestrationService>(), ActivityLockRenewal),
            sp => sp.GetRequiredService<AzureStorageOrchestrationService>(),
            createIfNotExists: true,
            configureTasks);
        return services;
    }

    /// <summary>The provider settings the local host uses.</summary>
    /// <param name="connectionString">An Azure Storage connection string.</param>
    /// <param name="taskHub">The task hub name.</param>
    /// <param name="loggerFactory">Where the provider logs; null for nowhere.</param>
    /// <param name="workerId">This worker's name in the partition table; null for the machine name.</param>
    /// <param name="partitionLease">The partition lease (at least <see cref="MinPartitionLease"/>); null for the provider's 30 s.</param>
    public static AzureStorageOrchestrationServiceSettings CreateSettings(
        string connectionString, string taskHub, ILoggerFactory? loggerFactory = null, string? workerId = null, TimeSpan? partitionLease = null)
    {
        var settings = new AzureStorageOrchestrationServiceSettings
        {
            StorageAccountClientProvider = new StorageAccountClientProvider(connectionString),
            TaskHubName = taskHub,
            MaxConcurrentTaskOrchestrationWorkItems = MaxConcurrentWorkItems,
            MaxConcurrentTaskActivityWorkItems = MaxConcurrentWorkItems,
            MaxQueuePollingInterval = MaxQueuePollingInterval,
            ControlQueueVisibilityTimeout = QueueVisibilityTimeout,
            WorkItemQueueVisibilityTimeout = QueueVisibilityTimeout,
        };
        if (loggerFactory is not null)
        {
            settings.LoggerFactory = loggerFactory;
        }

        if (!string.IsNullOrWhiteSpace(workerId))
        {
            settings.WorkerId = workerId;
        }

        if (partitionLease is { } lease)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(lease, MinPartitionLease, nameof(partitionLease));
            settings.LeaseInterval = lease;
            settings.LeaseAcquireInterval = lease / PartitionLeaseRenewals;
            settings.LeaseRenewInterval = lease / PartitionLeaseRenewals; // the blob partition managers' renewal timer
        }

        return settings;
    }
}
