using System.Text.Json;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using Xunit;

namespace AgentJobs.ApiContract;

/// <summary>A host that also serves the agent-jobs MCP server.</summary>
public interface IAgentJobsMcpHost : IAgentJobsApiHost
{
    /// <summary>The MCP endpoint's path relative to the host root (e.g. <c>mcp</c>, or <c>api/mcp</c> on Functions).</summary>
    string McpPath { get; }
}

/// <summary>
/// The agent-jobs MCP server's contract, shared by every host: driven by the official MCP client
/// (<see cref="McpClient"/> over <see cref="HttpClientTransport"/>, Streamable HTTP) through the host's
/// <see cref="IAgentJobsApiHost.SendAsync"/>, so it runs over real HTTP on serve and through the in-process
/// harness on the Functions wrappers.
/// </summary>
public abstract class AgentJobsMcpContract(IAgentJobsMcpHost host)
{
    /// <summary>The host under test.</summary>
    protected IAgentJobsMcpHost Host { get; } = host ?? throw new ArgumentNullException(nameof(host));

    static CancellationToken Token => TestContext.Current.CancellationToken;

    static readonly Dictionary<string, object?> FastPolling = new() { ["initialDelayMs"] = 20, ["maxDelayMs"] = 200, ["streamWindowSeconds"] = 0 };

    /// <summary>tools/list: the job and session tools, with schemas generated from the API's contracts.</summary>
    [Fact]
    public async Task Lists_the_job_and_session_tools_with_schemas_from_the_contracts()
    {
        await using var client = await ConnectAsync();

        var tools = (await client.ListToolsAsync(cancellationToken: Token)).ToDictionary(t => t.Name);

        Assert.Equal(
            ["cancel_agent_job", "end_agent_session", "get_agent_job", "get_agent_session", "send_session_turn", "start_agent_job", "start_agent_session"],
            tools.Keys.Order(StringComparer.Ordinal));
        Assert.True(tools["send_session_turn"].ProtocolTool.InputSchema.GetProperty("properties").TryGetProperty("prompt", out _));
        Assert.True(tools["start_agent_session"].ProtocolTool.InputSchema.GetProperty("properties").TryGetProperty("idleTimeoutSeconds", out _));
        var start = tools["start_agent_job"].ProtocolTool;
        var properties = start.InputSchema.GetProperty("properties");
        foreach (var field in new[] { "prompt", "instructions", "model", "tools", "threadId", "maxDurationSeconds", "polling" })
        {
            Assert.True(properties.TryGetProperty(field, out _), $"start_agent_job has no '{field}'");
        }

        Assert.Contains("prompt", start.InputSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.True(start.OutputSchema!.Value.GetProperty("properties").TryGetProperty("statusQueryGetUri", out _));
        Assert.True(tools["get_agent_job"].ProtocolTool.OutputSchema!.Value.GetProperty("properties").TryGetProperty("runtimeStatus", out _));
        Assert.True(tools["get_agent_job"].ProtocolTool.InputSchema.GetProperty("properties").TryGetProperty("id", out _));
        Assert.True(tools["cancel_agent_job"].ProtocolTool.InputSchema.GetProperty("properties").TryGetProperty("reason", out _));
    }

    /// <summary>start_agent_job, then get_agent_job until it completes: the same result the HTTP API gives.</summary>
    [Fact]
    public async Task Start_then_poll_a_job_to_completion()
    {
        await using var client = await ConnectAsync();

        var started = await CallAsync(client, "start_agent_job", new() { ["prompt"] = Host.CompletingPrompt, ["polling"] = FastPolling });
        var id = started.GetProperty("id").GetString()!;
        Assert.EndsWith($"/api/agent-jobs/{id}", started.GetProperty("statusQueryGetUri").GetString(), StringComparison.Ordinal);

        var status = await WaitForAsync(client, id, s => s.GetProperty("runtimeStatus").GetString() == "Completed");
        var result = status.GetProperty("result");
        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        Assert.False(string.IsNullOrWhiteSpace(result.GetProperty("reply").GetString()));
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
        Assert.False(await Host.AgentExistsAsync(result.GetProperty("agentId").GetString()!, Token));
    }

    /// <summary>A session driven over MCP: start it, send a turn, read the reply, end it (agent deleted).</summary>
    [Fact]
    public async Task A_session_over_mcp_answers_a_turn_and_ends_with_its_agent_deleted()
    {
        await using var client = await ConnectAsync();

        var started = await CallAsync(client, "start_agent_session", new() { ["model"] = "simulated-sessions", ["polling"] = FastPolling });
        var id = started.GetProperty("id").GetString()!;
        var sent = await CallAsync(client, "send_session_turn", new() { ["id"] = id, ["prompt"] = "over mcp delta" });
        Assert.False(string.IsNullOrEmpty(sent.GetProperty("turnId").GetString()));

        JsonElement session;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            Assert.True(DateTime.UtcNow < deadline, "the turn did not finish");
            await Task.Delay(100, Token);
            session = await CallAsync(client, "get_agent_session", new() { ["id"] = id });
        }
        while (!session.GetProperty("turns").EnumerateArray().Any(t => t.GetProperty("runtimeStatus").GetString() == "Completed"));

        Assert.Contains("delta", session.GetProperty("turns")[0].GetProperty("reply").GetString(), StringComparison.Ordinal);
        await CallAsync(client, "end_agent_session", new() { ["id"] = id, ["reason"] = "done over mcp" });
        deadline = DateTime.UtcNow.AddSeconds(60);
        do
        {
            Assert.True(DateTime.UtcNow < deadline, "the session did not end");
            await Task.Delay(100, Token);
            session = await CallAsync(client, "get_agent_session", new() { ["id"] = id });
        }
        while (session.GetProperty("status").GetString() != "ended");

        Assert.True(session.GetProperty("ended").GetProperty("agentDeleted").GetBoolean());
        Assert.Equal("deleted: done over mcp", session.GetProperty("ended").GetProperty("reason").GetString());
    }

    /// <summary>cancel_agent_job cancels a running job gracefully: outcome Cancelled with the reason, agent deleted.</summary>
    [Fact]
    public async Task Cancel_a_running_job()
    {
        await using var client = await ConnectAsync();
        var started = await CallAsync(client, "start_agent_job", new() { ["prompt"] = Host.LongRunningPrompt, ["polling"] = FastPolling });
        var id = started.GetProperty("id").GetString()!;
        await WaitForAsync(client, id, s => s.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object && p.GetProperty("phase").GetString() == "Polling");

        var cancelled = await CallAsync(client, "cancel_agent_job", new() { ["id"] = id, ["reason"] = "asked over MCP" });
        Assert.Equal(id, cancelled.GetProperty("id").GetString());

        var status = await WaitForAsync(client, id, s => s.GetProperty("runtimeStatus").GetString() == "Completed");
        var result = status.GetProperty("result");
        Assert.Equal("Cancelled", result.GetProperty("outcome").GetString());
        Assert.Contains("asked over MCP", result.GetProperty("failure").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
    }

    /// <summary>The API's validation and errors come back as isError results with the API's status and message.</summary>
    [Fact]
    public async Task Invalid_requests_and_unknown_jobs_are_tool_errors_with_the_apis_message()
    {
        await using var client = await ConnectAsync();

        var unknownServer = await client.CallToolAsync("start_agent_job", new Dictionary<string, object?> { ["prompt"] = "hi", ["tools"] = new[] { "nope/echo" } }, cancellationToken: Token);
        Assert.True(unknownServer.IsError);
        var text = Assert.IsType<TextContentBlock>(Assert.Single(unknownServer.Content)).Text;
        Assert.StartsWith("400 ", text, StringComparison.Ordinal);
        Assert.Contains("'nope'", text, StringComparison.Ordinal);
        Assert.Contains("(field: tools)", text, StringComparison.Ordinal);

        var typo = await client.CallToolAsync("start_agent_job", new Dictionary<string, object?> { ["prompt"] = "hi", ["promt"] = "typo" }, cancellationToken: Token);
        Assert.True(typo.IsError);

        var missing = await client.CallToolAsync("get_agent_job", new Dictionary<string, object?> { ["id"] = "no-such-job" }, cancellationToken: Token);
        Assert.True(missing.IsError);
        Assert.StartsWith("404 ", Assert.IsType<TextContentBlock>(Assert.Single(missing.Content)).Text, StringComparison.Ordinal);
    }

    /// <summary>Connects the official MCP client to the host's endpoint.</summary>
    protected async Task<McpClient> ConnectAsync()
    {
#pragma warning disable CA2000 // the transport owns the HttpClient, the client owns the transport
        var http = new HttpClient(new HostHandler(Host));
        var transport = new HttpClientTransport(
            new HttpClientTransportOptions { Endpoint = new Uri("http://agent-jobs-host/" + Host.McpPath), TransportMode = HttpTransportMode.StreamableHttp },
            http,
            ownsHttpClient: true);
#pragma warning restore CA2000
        return await McpClient.CreateAsync(transport, cancellationToken: Token);
    }

    static async Task<JsonElement> CallAsync(McpClient client, string tool, Dictionary<string, object?> arguments)
    {
        var result = await client.CallToolAsync(tool, arguments, cancellationToken: Token);
        Assert.True(result.IsError != true, string.Join("\n", result.Content.OfType<TextContentBlock>().Select(t => t.Text)));
        Assert.NotNull(result.StructuredContent);
        return result.StructuredContent!.Value;
    }

    static async Task<JsonElement> WaitForAsync(McpClient client, string id, Func<JsonElement, bool> condition)
    {
        var until = DateTime.UtcNow + AgentJobsApiContract.JobTimeout;
        while (true)
        {
            var status = await CallAsync(client, "get_agent_job", new() { ["id"] = id });
            if (condition(status))
            {
                return status;
            }

            Assert.True(DateTime.UtcNow < until, $"Job {id} did not get there in time; last status: {status}");
            await Task.Delay(50, Token);
        }
    }

    // Sends the client's requests through the host (real HTTP for serve, the in-process harness for Functions).
    sealed class HostHandler(IAgentJobsApiHost host) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            // A fresh message: the one given here counts as sent already, and a host may send it with its own HttpClient.
            using var forward = new HttpRequestMessage(request.Method, new Uri(request.RequestUri!.PathAndQuery.TrimStart('/'), UriKind.Relative))
            {
                Content = request.Content,
                Version = request.Version,
            };
            foreach (var header in request.Headers)
            {
                forward.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }

            var response = await host.SendAsync(forward, cancellationToken);
            forward.Content = null; // the caller's request owns the content
            response.RequestMessage = request;
            return response;
        }
    }
}
