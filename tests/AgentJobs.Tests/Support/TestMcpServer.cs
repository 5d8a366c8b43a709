using System.Collections.Concurrent;
using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentJobs.Tests.Support;

/// <summary>
/// A real MCP server (the official SDK's ASP.NET Core host, Streamable HTTP, stateless) on 127.0.0.1 with a few
/// tools: <c>echo</c>, <c>slow</c> (waits), <c>fail</c> (isError), <c>weather</c> (structured content),
/// <c>big</c> (100 KB of text), <c>flaky</c> (for fault injection). It records every tools/call it receives with
/// the idempotency key from <c>_meta</c>, can answer the next N calls of a tool with an HTTP status instead, and
/// can require a header.
/// </summary>
public sealed class TestMcpServer : IAsyncDisposable
{
    readonly WebApplication app;

    TestMcpServer(WebApplication app, Uri url)
    {
        this.app = app;
        Url = url;
    }

    /// <summary>The Streamable HTTP endpoint.</summary>
    public Uri Url { get; }

    /// <summary>Every tools/call received (faulted ones included): tool name and the idempotency key in _meta.</summary>
    public ConcurrentQueue<(string Tool, string? Key)> Calls { get; } = new();

    /// <summary>Tool → (HTTP status, remaining count): the next calls of that tool get the status instead of a result.</summary>
    public ConcurrentDictionary<string, (int Status, int Remaining)> Faults { get; } = new();

    /// <summary>When set, requests without this header value get 401.</summary>
    public (string Name, string Value)? RequiredHeader { get; set; }

    /// <summary>
    /// Stateful servers only: how many of the next tools/call requests find their session gone, as when a server
    /// restarts or expires idle sessions (the request's Mcp-Session-Id is swapped for one the server never issued,
    /// so the SDK's own transport answers 404 "Session not found").
    /// </summary>
    public int ExpireSessions
    {
        get => Volatile.Read(ref expireSessions);
        set => Volatile.Write(ref expireSessions, value);
    }

    /// <summary>How many initialize requests (new sessions) the server received.</summary>
    public int Initializes => Volatile.Read(ref initializes);

    int expireSessions;
    int initializes;

    /// <summary>Starts the server: stateless unless <paramref name="stateful"/> (then it issues Mcp-Session-Id).</summary>
    public static async Task<TestMcpServer> StartAsync(bool stateful = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        TestMcpServer? self = null;
        builder.Services.AddSingleton(_ => self!);
        builder.Services.AddMcpServer()
            .WithHttpTransport(o => o.Stateless = !stateful)
            .WithTools<Tools>();
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            var server = context.RequestServices.GetRequiredService<TestMcpServer>();
            if (server.RequiredHeader is { } required && context.Request.Headers[required.Name] != required.Value)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }

            if (HttpMethods.IsPost(context.Request.Method))
            {
                context.Request.EnableBuffering();
                var node = await JsonNode.ParseAsync(context.Request.Body);
                context.Request.Body.Position = 0;
                if (node?["method"]?.GetValue<string>() == "initialize")
                {
                    Interlocked.Increment(ref server.initializes);
                }

                if (node?["method"]?.GetValue<string>() == "tools/call")
                {
                    if (context.Request.Headers.ContainsKey("Mcp-Session-Id") && Interlocked.Decrement(ref server.expireSessions) >= 0)
                    {
                        context.Request.Headers["Mcp-Session-Id"] = "expired-" + Guid.NewGuid().ToString("N");
                    }

                    var tool = node["params"]?["name"]?.GetValue<string>() ?? "";
                    server.Calls.Enqueue((tool, node["params"]?["_meta"]?[AgentJobs.Tools.ToolCallContext.MetaKey]?.GetValue<string>()));
                    if (server.Faults.TryGetValue(tool, out var fault) && fault.Remaining > 0)
                    {
                        server.Faults[tool] = (fault.Status, fault.Remaining - 1);
                        context.Response.StatusCode = fault.Status;
                        return;
                    }
                }
            }

            await next(context);
        });
        app.MapMcp("/mcp");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        self = new TestMcpServer(app, new Uri(address.TrimEnd('/') + "/mcp"));
        return self;
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    /// <summary>The tools.</summary>
    [McpServerToolType]
    public sealed class Tools
    {
        [McpServerTool(Name = "echo"), Description("Echoes the text back.")]
        public static string Echo([Description("Text to echo")] string text) => $"echo: {text}";

        [McpServerTool(Name = "slow"), Description("Waits, then says how long.")]
        public static async Task<string> Slow([Description("Milliseconds to wait")] int ms, CancellationToken cancellationToken)
        {
            await Task.Delay(ms, cancellationToken);
            return $"waited {ms} ms";
        }

        [McpServerTool(Name = "fail"), Description("Always fails with isError.")]
        public static CallToolResult Fail([Description("Why")] string reason) =>
            new() { IsError = true, Content = [new TextContentBlock { Text = $"failed on purpose: {reason}" }] };

        [McpServerTool(Name = "dbfail"), Description("Fails with isError, an error text and structured content, as some servers do.")]
        public static CallToolResult DbFail() =>
            new()
            {
                IsError = true,
                Content = [new TextContentBlock { Text = "database connection refused" }],
                StructuredContent = JsonSerializer.SerializeToElement(new { answer = 42 }),
            };

        [McpServerTool(Name = "weather", UseStructuredContent = true), Description("Weather for a city, as structured content.")]
        public static WeatherReport Weather([Description("City")] string city) => new(city, 21.5, "sunny");

        [McpServerTool(Name = "big"), Description("Returns 100 KB of text.")]
        public static string Big() => new('x', 100 * 1024);

        [McpServerTool(Name = "flaky"), Description("Succeeds unless a fault is injected.")]
        public static string Flaky(RequestContext<CallToolRequestParams> context) =>
            $"ok with key {context.Params?.Meta?[AgentJobs.Tools.ToolCallContext.MetaKey]}";
    }

    public sealed record WeatherReport(string City, double TemperatureC, string Sky);
}
