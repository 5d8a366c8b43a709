using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local.Tests.Support;

/// <summary>
/// A stand-in OTLP/HTTP collector on 127.0.0.1: answers every POST with 200 and keeps the request's path, content
/// type and body. Protobuf is not parsed; span names and attribute keys are plain UTF-8 inside the body.
/// </summary>
public sealed class OtlpReceiver : IAsyncDisposable
{
    readonly WebApplication app;

    OtlpReceiver(WebApplication app, Uri endpoint)
    {
        this.app = app;
        Endpoint = endpoint;
    }

    public sealed record Export(string Path, string? ContentType, byte[] Body)
    {
        public bool Contains(string text) => Body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;
    }

    public Uri Endpoint { get; }

    public ConcurrentQueue<Export> Exports { get; } = new();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        OtlpReceiver? receiver = null;
        app.MapPost("/{**path}", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            receiver!.Exports.Enqueue(new Export(request.Path, request.ContentType, body.ToArray()));
            return Results.Ok();
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver = new OtlpReceiver(app, new Uri(address));
        return receiver;
    }

    /// <summary>Waits (bounded) until an export to <paramref name="path"/> holding <paramref name="text"/> arrived.</summary>
    public async Task<Export?> WaitForAsync(string path, string text, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (Exports.FirstOrDefault(e => e.Path == path && e.Contains(text)) is { } found)
            {
                return found;
            }

            await Task.Delay(100);
        }

        return null;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
