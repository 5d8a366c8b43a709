using System.Net;
using System.Net.Sockets;
using DurableTask.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Hosting;

/// <summary>
/// Hosts the public <see cref="TaskHubGrpcServer"/> sidecar (from the in-process test host package) over any
/// <see cref="IOrchestrationService"/>: a Kestrel HTTP/2 gRPC endpoint on 127.0.0.1, the address the worker and
/// client connect to. The sidecar starts its dispatchers once a worker connects.
/// </summary>
public sealed class GrpcSidecarHost(
    string address,
    IOrchestrationService service,
    IOrchestrationServiceClient client,
    bool createIfNotExists,
    ILoggerFactory? loggerFactory) : IHostedService, IAsyncDisposable
{
    WebApplication? app;

    /// <summary>The address the sidecar listens on, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public Uri Address { get; } = new(address);

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (createIfNotExists)
        {
            await service.CreateIfNotExistsAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (loggerFactory is not null)
        {
            builder.Services.AddSingleton<ILoggerFactory>(new CancelledCallsAtDebug(loggerFactory));
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
            kestrel.Listen(IPAddress.Loopback, Address.Port, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        builder.Services.AddSingleton(client);
        builder.Services.AddSingleton<TaskHubGrpcServer>();

        var web = builder.Build();
        web.MapGrpcService<TaskHubGrpcServer>();
        await web.StartAsync(cancellationToken).ConfigureAwait(false);
        app = web;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (app is not null)
        {
            await app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (app is not null)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            app = null;
        }
    }
}

/// <summary>
/// The sidecar's logs, except that a call its client cancelled (an API request whose HTTP client went away cancels
/// its durable client call, which resets the gRPC stream) is a debug line, not "fail: Error when executing service
/// method" with a stack trace: the caller knows it cancelled, and real failures still reach the caller as errors.
/// </summary>
sealed class CancelledCallsAtDebug(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) =>
        categoryName.StartsWith("Grpc.AspNetCore.Server", StringComparison.Ordinal)
            ? new Logger(inner.CreateLogger(categoryName))
            : inner.CreateLogger(categoryName);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The factory is the host's; it disposes it.
    }

    sealed class Logger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel) || inner.IsEnabled(LogLevel.Debug);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var level = logLevel >= LogLevel.Warning && Cancelled(exception) ? LogLevel.Debug : logLevel;
            if (inner.IsEnabled(level))
            {
                inner.Log(level, eventId, state, exception, formatter);
            }
        }

        static bool Cancelled(Exception? ex) =>
            ex is IOException or OperationCanceledException || (ex?.InnerException is { } e && Cancelled(e));
    }
}

/// <summary>
/// The wiring both backends share: an orchestration service behind a <see cref="GrpcSidecarHost"/> on a free
/// 127.0.0.1 port, a worker with the tasks, and a client, both connected to that address.
/// </summary>
public static class GrpcSidecarBackend
{
    /// <summary>Adds the sidecar over <paramref name="service"/>, a worker with <paramref name="configureTasks"/>, and a client.</summary>
    /// <param name="services">The host's services.</param>
    /// <param name="service">Resolves the orchestration service the sidecar dispatches from.</param>
    /// <param name="client">Resolves the orchestration service client the sidecar answers client calls with.</param>
    /// <param name="createIfNotExists">Create the task hub's storage before serving.</param>
    /// <param name="configureTasks">Registers orchestrators and activities.</param>
    public static IServiceCollection AddGrpcSidecarBackend(
        this IServiceCollection services,
        Func<IServiceProvider, IOrchestrationService> service,
        Func<IServiceProvider, IOrchestrationServiceClient> client,
        bool createIfNotExists,
        Action<DurableTaskRegistry> configureTasks)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(configureTasks);

        var address = $"http://127.0.0.1:{FreeLoopbackPort()}";
        services.AddHostedService(sp =>
            new GrpcSidecarHost(address, service(sp), client(sp), createIfNotExists, sp.GetService<ILoggerFactory>()));
        services.AddSingleton<AgentJobs.Events.IJobHistorySource>(sp => new OrchestrationServiceHistorySource(client(sp)));
        services.AddDurableTaskWorker(builder =>
        {
            builder.UseGrpc(address);
            builder.AddTasks(configureTasks);
        });
        services.AddDurableTaskClient(builder =>
        {
            builder.UseGrpc(address);
            builder.RegisterDirectly();
        });
        return services;
    }

    /// <summary>A free TCP port on 127.0.0.1 (the sidecar listens there; the port must not be taken).</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
