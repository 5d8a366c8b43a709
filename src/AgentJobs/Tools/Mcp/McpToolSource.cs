using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentJobs.AgentService;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace AgentJobs.Tools.Mcp;

/// <summary>
/// MCP servers as a source of function tools, through the official MCP C# SDK client over Streamable HTTP.
/// <list type="bullet">
/// <item>At job start (<see cref="GetSpecsAsync"/>, called by the CreateAgent activity) the server's
/// <c>tools/list</c> is read fresh: an unreachable server fails the job at once with a message naming it;
/// 408/429/5xx are transient (<see cref="TransientAgentServiceException"/>, retried by the durable retry policy);
/// a tool the server does not list fails the job with a message naming it and the tools it has.</item>
/// <item>Each call (<see cref="InvokeAsync"/>, one ExecuteTool activity per call) connects, sends
/// <c>tools/call</c> with the idempotency key in <c>_meta</c> (<see cref="ToolCallContext.MetaKey"/>) and
/// disconnects. JSON-RPC errors and <c>isError</c> results become error outputs for that call; 408/429/5xx, a
/// refused or dropped connection and timeouts are transient, so the activity is retried with the same key.</item>
/// <item>Outputs: structured content as JSON when the server sends it, else the text blocks (binary blocks are
/// described, not inlined), capped at <see cref="MaxOutputBytes"/> UTF-8 bytes with a marker saying how much was cut.</item>
/// </list>
/// Header values come from settings and never appear in messages or logs.
/// </summary>
public sealed class McpToolSource : IDisposable
{
    /// <summary>Largest tool output passed to the agent, in UTF-8 bytes (32 KB).</summary>
    public const int MaxOutputBytes = 32 * 1024;

    /// <summary>How long a tool list read at job start serves the calls of later jobs' tool calls (not new jobs).</summary>
    public static readonly TimeSpan ToolListCacheDuration = TimeSpan.FromMinutes(10);

    readonly HttpClient http;
    readonly ILoggerFactory loggerFactory;
    readonly ILogger logger;
    readonly TimeProvider time;
    readonly ConcurrentDictionary<string, (DateTimeOffset ReadAt, IReadOnlyList<Tool> Tools)> toolLists = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Creates the source.</summary>
    public McpToolSource(McpToolServers servers, ILoggerFactory? loggerFactory = null, TimeProvider? time = null, HttpMessageHandler? handler = null)
    {
        Servers = servers ?? throw new ArgumentNullException(nameof(servers));
        this.loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        logger = this.loggerFactory.CreateLogger<McpToolSource>();
        this.time = time ?? TimeProvider.System;
        http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, disposeHandler: handler is null)
        {
            Timeout = Timeout.InfiniteTimeSpan, // each request is bounded by its server's timeout instead
        };
    }

    /// <summary>The configured servers.</summary>
    public McpToolServers Servers { get; }

    /// <summary>
    /// What is wrong with a job's MCP tool reference, or null when it is acceptable at submit time: the syntax,
    /// the server (must be configured) and the allow-list. Whether the server really has the tool is known at job
    /// start only.
    /// </summary>
    public string? FindProblem(string reference)
    {
        if (!McpToolNames.TryParse(reference, out var server, out var tool))
        {
            return $"Tool '{reference}' is not a valid MCP tool reference; use '<server>/<tool>' or '<server>/*'.";
        }

        if (!Servers.TryGet(server, out var settings))
        {
            return Servers.Servers.Count == 0
                ? $"Unknown MCP server '{server}' in tool '{reference}': no MCP servers are configured (AgentJobs__McpServers__<name>__Url)."
                : $"Unknown MCP server '{server}' in tool '{reference}'. Configured MCP servers: {string.Join(", ", Servers.Names)}.";
        }

        return tool != McpToolNames.AllTools && !settings.Allows(tool)
            ? $"Tool '{tool}' of MCP server '{settings.Name}' is not in its AllowedTools ({string.Join(", ", settings.AllowedTools!.Order(StringComparer.Ordinal))})."
            : null;
    }

    /// <summary>
    /// The function-tool definitions of one reference (<c>server/tool</c> or <c>server/*</c>), from a fresh
    /// <c>tools/list</c>. Names are the agent-facing <see cref="McpToolNames.FunctionName"/>s.
    /// </summary>
    /// <exception cref="AgentServiceException">The reference is invalid, the server is unreachable or refuses, or it has no such tool.</exception>
    /// <exception cref="TransientAgentServiceException">408, 429, 5xx or a timeout: worth retrying.</exception>
    public async Task<IReadOnlyList<FunctionToolSpec>> GetSpecsAsync(string reference, CancellationToken cancellationToken)
    {
        if (FindProblem(reference) is { } problem)
        {
            throw new McpServerException(problem);
        }

        if (!McpToolNames.TryParse(reference, out var serverName, out var toolName) || !Servers.TryGet(serverName, out var server))
        {
            throw new InvalidOperationException("Unreachable: FindProblem accepted the reference.");
        }

        var tools = await ListToolsAsync(server, atJobStart: true, cancellationToken).ConfigureAwait(false);
        var allowed = tools.Where(t => server.Allows(t.Name)).ToList();
        IEnumerable<Tool> chosen;
        if (toolName == McpToolNames.AllTools)
        {
            chosen = allowed;
        }
        else
        {
            var tool = allowed.FirstOrDefault(t => t.Name == toolName)
                ?? throw new McpServerException(
                    $"MCP server '{server.Name}' has no tool '{toolName}'. It offers: {(allowed.Count == 0 ? "none that are allowed" : string.Join(", ", allowed.Select(t => t.Name)))}.");
            chosen = [tool];
        }

        return [.. chosen.Select(t => new FunctionToolSpec(
            McpToolNames.FunctionName(server.Name, t.Name),
            t.Description ?? t.Title ?? t.Name,
            t.InputSchema.ValueKind == JsonValueKind.Object ? t.InputSchema.GetRawText() : """{"type":"object"}"""))];
    }

    /// <summary>Whether a function name belongs to a configured MCP server.</summary>
    public bool Owns(string functionName) =>
        McpToolNames.ServerOf(functionName) is { } server && Servers.TryGet(server, out _);

    /// <summary>
    /// Runs one call of an MCP tool (by its agent-facing function name). MCP errors and <c>isError</c> results are
    /// error outputs; transient failures throw <see cref="TransientAgentServiceException"/> so the activity retries.
    /// </summary>
    /// <exception cref="TransientAgentServiceException">408, 429, 5xx, a refused or dropped connection, or a timeout.</exception>
    public async Task<ToolOutput> InvokeAsync(ToolCallRequest call, ToolCallContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(context);
        if (McpToolNames.ServerOf(call.Name) is not { } serverName || !Servers.TryGet(serverName, out var server))
        {
            return Error(call, $"unknown tool '{call.Name}'");
        }

        Dictionary<string, JsonElement> arguments;
        try
        {
            arguments = string.IsNullOrWhiteSpace(call.Arguments)
                ? []
                : JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(call.Arguments) ?? [];
        }
        catch (JsonException ex)
        {
            return Error(call, $"arguments are not a JSON object: {ex.Message}");
        }

        var tool = await FindToolAsync(server, call.Name, cancellationToken).ConfigureAwait(false);
        if (tool is null)
        {
            return Error(call, $"MCP server '{server.Name}' has no tool that maps to '{call.Name}' (any more)", "mcp_error");
        }

        // One call per session; a 404 for the session (the server restarted or expired it) means the request was not
        // handled, and the spec says to start a new session: once, then the 404 stands.
        CallToolResult? result = null;
        for (var attempt = 1; result is null; attempt++)
        {
            var sent = false;
            string? session = null;
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(server.Timeout);
                await using var client = await ConnectAsync(server, timeout.Token).ConfigureAwait(false);
                session = client.SessionId;
                sent = true;
                result = await client.CallToolAsync(
                    new CallToolRequestParams
                    {
                        Name = tool.Name,
                        Arguments = arguments,
                        Meta = new JsonObject { [ToolCallContext.MetaKey] = context.IdempotencyKey },
                    },
                    timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (attempt == 1 && session is not null && HttpStatus(ex) == HttpStatusCode.NotFound)
            {
                logger.McpSessionLost(server.Name, session, call.Id);
            }
            catch (McpProtocolException ex)
            {
                // The server answered with a JSON-RPC error (unknown tool, invalid arguments, its own failure).
                return Error(call, $"MCP server '{server.Name}' rejected the call of '{tool.Name}': {Scrub(server, ex.Message)}", "mcp_error");
            }
            catch (Exception ex) when (sent && ex is OperationCanceledException or TimeoutException)
            {
                // The call was sent and may still run there: not retried (it would start again), answered as timed out.
                logger.McpCallTimedOut(call.Id, tool.Name, server.Name, server.Timeout.TotalSeconds);
                return Error(call, $"MCP tool '{tool.Name}' of server '{server.Name}' timed out after {server.Timeout.TotalSeconds:0} s (its TimeoutSeconds); it may still be running there.", "mcp_timeout");
            }
            catch (Exception ex) when (Transient(ex, server, atJobStart: false) is { } transient)
            {
                logger.McpCallFailedTransiently(call.Id, tool.Name, server.Name, transient.Message);
                throw transient;
            }
            catch (Exception ex) when (ex is HttpRequestException or McpException or InvalidOperationException or JsonException)
            {
                return Error(call, $"MCP server '{server.Name}' failed the call of '{tool.Name}': {Scrub(server, ex.Message)}", "mcp_error");
            }
        }

        if (result.IsError == true)
        {
            // The error text is what the tool says went wrong; structured content, when sent too, goes beside it.
            var text = RenderBlocks(result);
            var message = Cap($"MCP tool '{tool.Name}' of server '{server.Name}' reported an error: {(text.Length > 0 ? text : "(no error text)")}", MaxOutputBytes / 2);
            return new ToolOutput(call.Id, Cap(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["error"] = message,
                ["code"] = "mcp_tool_error",
                ["structuredContent"] = result.StructuredContent,
            }.Where(p => p.Value is not null).ToDictionary())), IsError: true);
        }

        return new ToolOutput(call.Id, Cap(Render(result)));
    }

    /// <summary>Cuts <paramref name="text"/> to <see cref="MaxOutputBytes"/> UTF-8 bytes, ending with a marker that says how much was cut.</summary>
    public static string Cap(string text, int maxBytes = MaxOutputBytes)
    {
        ArgumentNullException.ThrowIfNull(text);
        var total = Encoding.UTF8.GetByteCount(text);
        if (total <= maxBytes)
        {
            return text;
        }

        var marker = $"\n…[output truncated: {{0}} of {total} bytes cut]";
        var budget = maxBytes - Encoding.UTF8.GetByteCount(string.Format(System.Globalization.CultureInfo.InvariantCulture, marker, total));
        var keep = Contracts.ResultText.Utf8PrefixLength(text, budget);
        var bytes = Encoding.UTF8.GetByteCount(text.AsSpan(0, keep));
        return text[..keep] + string.Format(System.Globalization.CultureInfo.InvariantCulture, marker, total - bytes);
    }

    /// <summary>Disposes the HTTP client.</summary>
    public void Dispose() => http.Dispose();

    async Task<Tool?> FindToolAsync(McpServerSettings server, string functionName, CancellationToken cancellationToken)
    {
        Tool? Match(IReadOnlyList<Tool> tools) =>
            tools.FirstOrDefault(t => server.Allows(t.Name) && McpToolNames.FunctionName(server.Name, t.Name) == functionName);

        if (toolLists.TryGetValue(server.Name, out var cached) && time.GetUtcNow() - cached.ReadAt < ToolListCacheDuration && Match(cached.Tools) is { } hit)
        {
            return hit;
        }

        return Match(await ListToolsAsync(server, atJobStart: false, cancellationToken).ConfigureAwait(false));
    }

    async Task<IReadOnlyList<Tool>> ListToolsAsync(McpServerSettings server, bool atJobStart, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(server.Timeout);
            await using var client = await ConnectAsync(server, timeout.Token).ConfigureAwait(false);
            var tools = new List<Tool>();
            string? cursor = null;
            do
            {
                var page = await client.ListToolsAsync(new ListToolsRequestParams { Cursor = cursor }, timeout.Token).ConfigureAwait(false);
                tools.AddRange(page.Tools);
                cursor = page.NextCursor;
            }
            while (cursor is not null && tools.Count < 10_000);

            toolLists[server.Name] = (time.GetUtcNow(), tools);
            return tools;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (Transient(ex, server, atJobStart) is { } transient)
        {
            throw transient;
        }
        catch (Exception ex) when (ex is HttpRequestException or McpException or InvalidOperationException or IOException or OperationCanceledException or TimeoutException or JsonException)
        {
            var reason = Unreachable(ex)
                ? "is not reachable"
                : ex is OperationCanceledException or TimeoutException ? $"did not answer within {server.Timeout.TotalSeconds:0} s" : "refused to list its tools";
            throw new McpServerException($"MCP server '{server.Name}' at {server.Url} {reason}: {Scrub(server, ex.Message)}", (int?)HttpStatus(ex), ex);
        }
    }

    async Task<McpClient> ConnectAsync(McpServerSettings server, CancellationToken cancellationToken)
    {
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Endpoint = server.Url,
                TransportMode = HttpTransportMode.StreamableHttp,
                Name = server.Name,
                AdditionalHeaders = server.Headers.ToDictionary(),
                ConnectionTimeout = server.Timeout,
            },
            http,
            loggerFactory,
            ownsHttpClient: false);
        return await McpClient.CreateAsync(
            transport,
            new McpClientOptions { ClientInfo = new Implementation { Name = "AgentFunctions", Version = "1.0" }, InitializationTimeout = server.Timeout },
            loggerFactory,
            cancellationToken).ConfigureAwait(false);
    }

    // 408, 429 and 5xx are transient everywhere; a refused or dropped connection and timeouts are transient
    // during a job, while at its start they mean the server is down, and the job fails fast naming it.
    static TransientMcpServerException? Transient(Exception ex, McpServerSettings server, bool atJobStart)
    {
        var status = HttpStatus(ex);
        if (status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int?)status >= 500)
        {
            return new TransientMcpServerException($"MCP server '{server.Name}' answered {(int)status!} {status}.", (int)status!, ex);
        }

        if (atJobStart || status is not null)
        {
            return null;
        }

        if (ex is OperationCanceledException or TimeoutException)
        {
            return new TransientMcpServerException($"MCP server '{server.Name}' did not answer within {server.Timeout.TotalSeconds:0} s.", null, ex);
        }

        return Unreachable(ex)
            ? new TransientMcpServerException($"MCP server '{server.Name}' at {server.Url} could not be reached: {Scrub(server, ex.Message)}", null, ex)
            : null;
    }

    static HttpStatusCode? HttpStatus(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { StatusCode: { } status })
            {
                return status;
            }
        }

        return null;
    }

    static bool Unreachable(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException or IOException || e is HttpRequestException { StatusCode: null })
            {
                return true;
            }
        }

        return false;
    }

    static string Scrub(McpServerSettings server, string message)
    {
        foreach (var value in server.Headers.Values.Where(v => v.Length > 0))
        {
            message = message.Replace(value, "***", StringComparison.Ordinal);
        }

        return message;
    }

    /// <summary>An error output: <c>{"error": "…", "code": "…"}</c>; codes of MCP failures start with <c>mcp_</c>.</summary>
    static ToolOutput Error(ToolCallRequest call, string message, string code = "tool_error") =>
        new(call.Id, JsonSerializer.Serialize(new { error = message, code }), IsError: true);

    static string Render(CallToolResult result) =>
        result.StructuredContent is { } structured ? structured.GetRawText() : RenderBlocks(result);

    static string RenderBlocks(CallToolResult result)
    {
        var parts = new List<string>();
        foreach (var block in result.Content)
        {
            parts.Add(block switch
            {
                TextContentBlock text => text.Text,
                ImageContentBlock image => $"[image {image.MimeType}, {image.Data.Length} base64 characters not shown]",
                AudioContentBlock audio => $"[audio {audio.MimeType}, {audio.Data.Length} base64 characters not shown]",
                EmbeddedResourceBlock { Resource: TextResourceContents resource } => resource.Text,
                EmbeddedResourceBlock embedded => $"[resource {embedded.Resource.Uri} ({embedded.Resource.MimeType}) not shown]",
                ResourceLinkBlock link => $"[resource link {link.Name}: {link.Uri}]",
                _ => JsonSerializer.Serialize(block, McpJsonUtilities.DefaultOptions),
            });
        }

        return string.Join("\n", parts);
    }
}
