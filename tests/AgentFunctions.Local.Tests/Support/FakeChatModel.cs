using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local.Tests.Support;

/// <summary>
/// A chat-completions endpoint on 127.0.0.1 for the embedded agent service's <c>openai-compatible</c> model: it
/// answers at once with a reply naming the latest user message, except when that message contains
/// <see cref="SlowMarker"/>: that it never answers (until the caller gives up), so a run stays in progress until it
/// is cancelled. Only the latest message counts, so a conversation goes on after a cancelled slow turn.
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
            using var request = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            var latest = request.RootElement.GetProperty("messages").EnumerateArray()
                .LastOrDefault(m => m.GetProperty("role").GetString() == "user") is { ValueKind: JsonValueKind.Object } user
                ? UserText(user.GetProperty("content"))
                : "";
            if (latest.Contains(SlowMarker, StringComparison.Ordinal))
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }

            return Results.Json(new
            {
                id = "chatcmpl-fake",
                @object = "chat.completion",
                created = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                model = "gpt-4o-mini",
                choices = new[] { new { index = 0, message = new { role = "assistant", content = $"Here is a fake reply to: {latest}" }, finish_reason = "stop" } },
                usage = new { prompt_tokens = 5, completion_tokens = 5, total_tokens = 10 },
            }, new JsonSerializerOptions());
        });
        await app.StartAsync();
        var address = app.Urls.First();
        return new FakeChatModel(app, new Uri(address.TrimEnd('/') + "/v1"));
    }

    // The SDK sends user content as a string or as an array of text parts.
    static string UserText(JsonElement content) => content.ValueKind == JsonValueKind.String
        ? content.GetString() ?? ""
        : string.Concat(content.EnumerateArray().Select(p => p.TryGetProperty("text", out var text) ? text.GetString() : ""));

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
