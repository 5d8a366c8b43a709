using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local.Tests.Support;

/// <summary>
/// A chat-completions endpoint on 127.0.0.1 for the embedded agent service's <c>openai-compatible</c> model: it
/// answers at once, except for conversations containing <see cref="SlowMarker"/>, which it never answers (until
/// the caller gives up), so a run stays in progress until it is cancelled.
/// </summary>
public sealed class FakeChatModel : IAsyncDisposable
{
    public const string SlowMarker = "[long-running]";

    readonly WebApplication app;

    FakeChatModel(WebApplication app, Uri endpoint)
    {
        this.app = app;
        Endpoint = endpoint;
    }

    /// <summary>The base URL, e.g. <c>http://127.0.0.1:40000/v1</c>.</summary>
    public Uri Endpoint { get; }

    public static async Task<FakeChatModel> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync(context.RequestAborted);
            if (body.Contains(SlowMarker, StringComparison.Ordinal))
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }

            return Results.Json(new
            {
                id = "chatcmpl-fake",
                @object = "chat.completion",
                created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                model = "gpt-4o-mini",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = "Here is a fake reply." }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 5, completion_tokens = 5, total_tokens = 10 },
            }, new JsonSerializerOptions());
        });
        await app.StartAsync();
        var address = app.Urls.First();
        return new FakeChatModel(app, new Uri(address.TrimEnd('/') + "/v1"));
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
