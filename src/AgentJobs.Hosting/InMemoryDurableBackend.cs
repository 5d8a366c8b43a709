using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Hosting;

/// <summary>
/// The embedded, in-memory Durable Task backend: the in-process test host's orchestration service behind the
/// gRPC sidecar (<see cref="GrpcSidecarHost"/>, as for Azure Storage) on a free 127.0.0.1 port, with the worker and client wired to it. State lives in memory.
/// </summary>
/// <remarks>
/// The stock service caps concurrent orchestration and activity work items at <see cref="Environment.ProcessorCount"/>
/// and its dispatcher re-checks for a free slot only every 500 ms, so 50 concurrent orchestrations took 74 s on
/// 2 cores. <see cref="HighConcurrencyOrchestrationService"/> lifts both caps (measured figures in the README).
/// </remarks>
public static class InMemoryDurableBackend
{
    /// <summary>Work items the embedded backend runs at once, per dispatcher.</summary>
    public const int MaxConcurrentWorkItems = 10_000;

    /// <summary>Adds the in-memory backend, a worker with <paramref name="configureTasks"/>, and a client.</summary>
    /// <remarks>
    /// The sidecar serves whatever <see cref="InMemoryOrchestrationService"/> resolves to, so a later registration
    /// (e.g. <see cref="HistoryRecordingOrchestrationService"/>) replaces the service.
    /// </remarks>
    public static IServiceCollection AddInMemoryDurableBackend(this IServiceCollection services, Action<DurableTaskRegistry> configureTasks)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<InMemoryOrchestrationService>(sp => new HighConcurrencyOrchestrationService(sp.GetService<ILoggerFactory>()));
        return services.AddGrpcSidecarBackend(
            sp => sp.GetRequiredService<InMemoryOrchestrationService>(),
            sp => sp.GetRequiredService<InMemoryOrchestrationService>(),
            createIfNotExists: false,
            configureTasks);
    }

    /// <summary>
    /// The in-memory service with its two concurrency caps raised. The caps are not virtual, so the interface is
    /// re-implemented: only these two members change, every other member maps to the base class.
    /// </summary>
    public sealed class HighConcurrencyOrchestrationService(ILoggerFactory? loggerFactory)
        : HistoryKeepingOrchestrationService(loggerFactory), IOrchestrationService
    {
        /// <inheritdoc cref="IOrchestrationService.MaxConcurrentTaskOrchestrationWorkItems"/>
        public new int MaxConcurrentTaskOrchestrationWorkItems => MaxConcurrentWorkItems;

        /// <inheritdoc cref="IOrchestrationService.MaxConcurrentTaskActivityWorkItems"/>
        public new int MaxConcurrentTaskActivityWorkItems => MaxConcurrentWorkItems;
    }
}
