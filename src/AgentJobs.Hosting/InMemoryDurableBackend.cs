using System.Net;
using System.Net.Sockets;
using DurableTask.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Testing;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Hosting;

/// <summary>
/// The embedded, in-memory Durable Task backend: the in-process test host's orchestration service behind its
/// gRPC sidecar on a free 127.0.0.1 port, with the worker and client wired to it. State lives in memory.
/// </summary>
/// <remarks>
/// The stock service caps concurrent orchestration and activity work items at <see cref="Environment.ProcessorCount"/>
/// and its dispatcher re-checks for a free slot only every 500 ms, so 50 concurrent orchestrations took 74 s on
/// 2 cores. <see cref="HighConcurrencyOrchestrationService"/> lifts both caps (see docs/durable-backends.md).
/// </remarks>
public static class InMemoryDurableBackend
{
    /// <summary>Work items the embedded backend runs at once, per dispatcher.</summary>
    public const int MaxConcurrentWorkItems = 10_000;

    /// <summary>Adds the in-memory backend, a worker with <paramref name="configureTasks"/>, and a client.</summary>
    public static IServiceCollection AddInMemoryDurableBackend(this IServiceCollection services, Action<DurableTaskRegistry> configureTasks)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddInMemoryDurableTask(configureTasks, new InMemoryDurableTaskOptions { Port = FreeLoopbackPort() });

        // Replace the service the sidecar resolves with one whose concurrency caps are lifted.
        services.AddSingleton<InMemoryOrchestrationService>(sp => new HighConcurrencyOrchestrationService(sp.GetService<ILoggerFactory>()));
        return services;
    }

    /// <summary>A free TCP port on 127.0.0.1 (the sidecar listens on localhost; the port must not be taken).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>
    /// The in-memory service with its two concurrency caps raised. The caps are not virtual, so the interface is
    /// re-implemented: only these two members change, every other member maps to the base class.
    /// </summary>
    public sealed class HighConcurrencyOrchestrationService(ILoggerFactory? loggerFactory)
        : InMemoryOrchestrationService(loggerFactory), IOrchestrationService
    {
        /// <inheritdoc cref="IOrchestrationService.MaxConcurrentTaskOrchestrationWorkItems"/>
        public new int MaxConcurrentTaskOrchestrationWorkItems => MaxConcurrentWorkItems;

        /// <inheritdoc cref="IOrchestrationService.MaxConcurrentTaskActivityWorkItems"/>
        public new int MaxConcurrentTaskActivityWorkItems => MaxConcurrentWorkItems;
    }
}
