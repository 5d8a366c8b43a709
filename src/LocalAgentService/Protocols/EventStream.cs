using System.Buffers;
using System.Text;
using System.Text.Json;
using LocalAgentService.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LocalAgentService.Protocols;

/// <summary>One server-sent event: its name and its JSON data, serialized at the moment the event happened.</summary>
internal sealed record SseEvent(string Name, byte[] Data)
{
    /// <summary>An event whose data is <paramref name="data"/> in wire JSON (snake_case).</summary>
    public static SseEvent Json(string name, object data) => new(name, JsonSerializer.SerializeToUtf8Bytes(data, data.GetType(), ProtocolJson.Options));

    /// <summary>The classic stream's last event: <c>event: done</c>, <c>data: [DONE]</c>.</summary>
    public static SseEvent Done { get; } = new("done", "[DONE]"u8.ToArray());
}

/// <summary>Writes <c>text/event-stream</c> answers (both protocols): named events, each flushed as it happens.</summary>
internal static class EventStream
{
    /// <summary>HttpContext item key set by the fault middleware for the <c>drop-stream</c> fault.</summary>
    public const string DropStreamItem = "LocalAgentService.DropStream";

    private static readonly TimeSpan DropStreamDelay = TimeSpan.FromMilliseconds(100);

    private static readonly byte[] EventPrefix = "event: "u8.ToArray();
    private static readonly byte[] DataPrefix = "\ndata: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    /// <summary>
    /// Sends the events until the source ends, the client goes away or the service stops. With the <c>drop-stream</c>
    /// fault planted, the connection is aborted right after the first event (no terminal event follows).
    /// </summary>
    public static async Task WriteAsync(HttpContext ctx, Func<CancellationToken, IAsyncEnumerable<SseEvent>> source)
    {
        var stopping = ctx.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted, stopping);
        var ct = linked.Token;
        bool drop = ctx.Items.ContainsKey(DropStreamItem);
        ctx.RequestServices.GetRequiredService<AgentStore>().CountStream();

        var response = ctx.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";
        ctx.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(ct);
        try
        {
            await foreach (var e in source(ct).WithCancellation(ct))
            {
                var writer = response.BodyWriter;
                writer.Write(EventPrefix);
                writer.Write(Encoding.UTF8.GetBytes(e.Name));
                writer.Write(DataPrefix);
                writer.Write(e.Data);
                writer.Write(EventEnd);
                var flushed = await writer.FlushAsync(ct);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    return;
                }

                if (drop)
                {
                    // A flush hands the bytes to the transport, it does not send them: give the event time to leave first.
                    await Task.Delay(DropStreamDelay, ct);
                    ctx.Abort();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away or the service is stopping: the run goes on, the stream just ends.
        }
    }
}
