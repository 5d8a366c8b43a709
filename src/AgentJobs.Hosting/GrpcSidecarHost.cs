using System.Net;
using DurableTask.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
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
            builder.Services.AddSingleton(loggerFactory);
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
