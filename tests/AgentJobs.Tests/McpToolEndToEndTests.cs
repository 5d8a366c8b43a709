using System.Diagnostics;
using System.Text.Json;
using AgentJobs.Configuration;
using AgentJobs.Contracts;
using AgentJobs.Hosting;
using AgentJobs.Tests.Support;
using AgentJobs.Tools;
using AgentJobs.Tools.Mcp;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using static AgentJobs.Tests.Support.LocalServiceJobs;

namespace AgentJobs.Tests;

/// <summary>
/// MCP servers as tool sources, end to end: a real MCP server (official SDK, Streamable HTTP) on 127.0.0.1, the
/// real workflow on the Durable Task SDK, each agent protocol's adapter against the local agent service. The
/// simulated model calls the tools a prompt names by their agent-facing names (<c>demo__echo</c>).
/// </summary>
public class McpToolEndToEndTests
{



    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Mcp_tools_are_called_in_parallel_with_a_per_call_idempotency_key_and_the_reply_uses_their_outputs(string protocol)
    {
        await using var mcp = await TestMcpServer.StartAsync();
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, protocol, Demo(mcp));
        var client = host.Services.GetRequiredService<DurableTaskClient>();

        var id = await ScheduleAsync(host, new AgentJobRequest(
            "Please use demo__echo and demo__slow with {\"text\": \"hi\", \"ms\": 300}", Tools: ["demo/echo", "demo/slow"], Polling: FastPolling));
        var result = await CompletionAsync(client, id);

        Assert.True(result.Outcome == JobOutcome.Completed, result.Failure?.Message);
        Assert.Equal(2, result.ToolCalls);
        Assert.Contains("echo: hi", result.Reply);
        Assert.Contains("waited 300 ms", result.Reply);
        var calls = result.RunSteps.SelectMany(s => s.ToolCalls).ToList();
        Assert.Equal(["demo__echo", "demo__slow"], calls.Select(c => c.Name).Order());

        // The key is job id + the service's call id, one per call.
        var received = mcp.Calls.ToList();
        Assert.Equal(2, received.Count);
        Assert.Equal(calls.Select(c => $"{id}:tool:{c.Id}").Order(), received.Select(r => r.Key!).Order());
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task An_isError_result_is_an_error_output_and_structured_content_is_passed_as_json(string protocol)
    {
        await using var mcp = await TestMcpServer.StartAsync();
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, protocol, Demo(mcp));

        var result = await RunAsync(host, new AgentJobRequest(
            "Please use demo__fail and demo__weather with {\"reason\": \"testing\", \"city\": \"Oslo\"}", Tools: ["demo/*"], Polling: FastPolling));

        Assert.True(result.Outcome == JobOutcome.Completed, result.Failure?.Message);
        var calls = result.RunSteps.SelectMany(s => s.ToolCalls).ToDictionary(c => c.Name);
        using (var error = JsonDocument.Parse(calls["demo__fail"].Output!))
        {
            Assert.Contains("failed on purpose: testing", error.RootElement.GetProperty("error").GetString());
        }

        using (var weather = JsonDocument.Parse(calls["demo__weather"].Output!))
        {
            Assert.Equal("Oslo", weather.RootElement.GetProperty("city").GetString());
            Assert.Equal("sunny", weather.RootElement.GetProperty("sky").GetString());
        }

        await AssertNoAgentLeftAsync(server, result);
    }

    [Fact]
    public async Task A_large_output_is_capped_with_a_marker_saying_how_much_was_cut()
    {
        await using var mcp = await TestMcpServer.StartAsync();
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, AgentProtocols.Classic, Demo(mcp));

        var result = await RunAsync(host, new AgentJobRequest("Please use demo__big", Tools: ["demo/big"], Polling: FastPolling));

        Assert.True(result.Outcome == JobOutcome.Completed, result.Failure?.Message);
        // What the agent got is capped at 32 KiB with the MCP marker (the simulated model quotes it in its reply);
        // the job's result keeps only the first 4 KiB of it, with its own marker.
        Assert.Contains($"of {100 * 1024} bytes cut]", result.Reply, StringComparison.Ordinal);
        var output = Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls)).Output!;
        Assert.True(output.Length <= ResultText.MaxToolTextLength + 100, $"{output.Length} characters");
        Assert.Matches(@"…\[cut [\d,]+ of [\d,]+ characters\]$", output);
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_transient_failure_of_a_call_is_retried_with_the_same_idempotency_key(string protocol)
    {
        await using var mcp = await TestMcpServer.StartAsync();
        mcp.Faults["flaky"] = (503, 1);
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, protocol, Demo(mcp));

        var result = await RunAsync(host, new AgentJobRequest("Please use demo__flaky", Tools: ["demo/flaky"], Polling: FastPolling));

        Assert.True(result.Outcome == JobOutcome.Completed, result.Failure?.Message);
        var attempts = mcp.Calls.Where(c => c.Tool == "flaky").Select(c => c.Key).ToList();
        Assert.Equal(2, attempts.Count); // the 503, then the retry
        Assert.NotNull(attempts[0]);
        Assert.Equal(attempts[0], attempts[1]);
        var call = Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls));
        Assert.EndsWith($":tool:{call.Id}", attempts[0]);
        Assert.Contains(attempts[0]!, call.Output);
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_server_that_is_down_at_job_start_fails_the_job_fast_naming_it_and_leaves_no_agent(string protocol)
    {
        await using var server = await StartServerAsync();
        var down = new McpServerSettings("down", new Uri($"http://127.0.0.1:{GrpcSidecarBackend.FreeLoopbackPort()}/mcp"), new Dictionary<string, string>(), null, TimeSpan.FromSeconds(10));
        using var host = await StartWorkflowAsync(server, protocol, down);

        var clock = Stopwatch.StartNew();
        var result = await RunAsync(host, new AgentJobRequest("Please use down__echo", Tools: ["down/echo"], Polling: FastPolling));

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Contains("MCP server 'down'", result.Failure!.Message);
        Assert.Contains("not reachable", result.Failure.Message);
        Assert.Equal("mcp_server_error", result.Failure.Code); // not the agent service's
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Null(result.AgentId);
        Assert.True(result.AgentDeleted);
        var stats = await server.GetStatsAsync();
        Assert.Equal(0, stats.Agents);
        Assert.Equal(0L, stats.AssistantsCreated + stats.AgentVersionsCreated);
    }

    [Fact]
    public async Task A_tool_the_server_does_not_have_fails_the_job_naming_it_and_what_it_offers()
    {
        await using var mcp = await TestMcpServer.StartAsync();
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, AgentProtocols.Classic, Demo(mcp));

        var result = await RunAsync(host, new AgentJobRequest("Hello", Tools: ["demo/nope"], Polling: FastPolling));

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Contains("MCP server 'demo' has no tool 'nope'", result.Failure!.Message);
        Assert.Contains("echo", result.Failure.Message);
        Assert.Null(result.AgentId);
    }

    [Fact]
    public async Task Configured_headers_are_sent_and_their_values_never_appear_in_failures()
    {
        await using var mcp = await TestMcpServer.StartAsync();
        mcp.RequiredHeader = ("X-Api-Key", "s3cret-value");
        await using var server = await StartServerAsync();

        var withKey = Demo(mcp) with { Headers = new Dictionary<string, string> { ["X-Api-Key"] = "s3cret-value" } };
        using (var host = await StartWorkflowAsync(server, AgentProtocols.Classic, withKey))
        {
            var ok = await RunAsync(host, new AgentJobRequest("Please use demo__echo with {\"text\": \"k\"}", Tools: ["demo/echo"], Polling: FastPolling));
            Assert.True(ok.Outcome == JobOutcome.Completed, ok.Failure?.Message);
            Assert.Contains("echo: k", ok.Reply);
        }

        var wrongKey = Demo(mcp) with { Headers = new Dictionary<string, string> { ["X-Api-Key"] = "wrong-secret-value" } };
        using (var host = await StartWorkflowAsync(server, AgentProtocols.Classic, wrongKey))
        {
            var refused = await RunAsync(host, new AgentJobRequest("Hello", Tools: ["demo/echo"], Polling: FastPolling));
            Assert.Equal(JobOutcome.Failed, refused.Outcome);
            Assert.Contains("MCP server 'demo'", refused.Failure!.Message);
            Assert.DoesNotContain("wrong-secret-value", refused.Failure.Message);
        }
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_csharp_tool_receives_the_same_kind_of_idempotency_key_as_a_parameter(string protocol)
    {
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, protocol, configure: services =>
            services.AddAgentTool("whoami", "Says which call this is.", (ToolCallContext call) => new { key = call.IdempotencyKey, ambient = ToolCallContext.Current?.IdempotencyKey }));
        var client = host.Services.GetRequiredService<DurableTaskClient>();

        var id = await ScheduleAsync(host, new AgentJobRequest("Please use whoami", Tools: ["whoami"], Polling: FastPolling));
        var result = await CompletionAsync(client, id);

        Assert.True(result.Outcome == JobOutcome.Completed, result.Failure?.Message);
        var call = Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls));
        Assert.Equal("{}", call.Arguments.Replace(" ", "", StringComparison.Ordinal)); // the context is not in the schema
        using var output = JsonDocument.Parse(call.Output!);
        Assert.Equal($"{id}:tool:{call.Id}", output.RootElement.GetProperty("key").GetString());
        Assert.Equal($"{id}:tool:{call.Id}", output.RootElement.GetProperty("ambient").GetString());
    }

    /// <summary>
    /// An isError result that carries both its error text and structured content: the model gets the text (the
    /// structured content beside it), and the error output's code says it came from the MCP tool.
    /// </summary>
    [Fact]
    public async Task An_isError_result_with_structured_content_keeps_its_error_text_and_an_mcp_code()
    {
        await using var mcp = await TestMcpServer.StartAsync();
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, AgentProtocols.Classic, Demo(mcp));

        var result = await RunAsync(host, new AgentJobRequest("Please use demo__dbfail", Tools: ["demo/dbfail"], Polling: FastPolling));

        Assert.True(result.Outcome == JobOutcome.Completed, result.Failure?.Message);
        using var output = JsonDocument.Parse(Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls)).Output!);
        Assert.Contains("database connection refused", output.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("mcp_tool_error", output.RootElement.GetProperty("code").GetString());
        Assert.Equal(42, output.RootElement.GetProperty("structuredContent").GetProperty("answer").GetInt32());
        await AssertNoAgentLeftAsync(server, result);
    }

    /// <summary>
    /// A stateful server that has forgotten the client's session answers 404 (the SDK's own "Session not found"): the
    /// client starts a new session, as the spec requires, and the call goes through instead of reaching the model as
    /// an error.
    /// </summary>
    [Fact]
    public async Task A_404_for_an_expired_session_starts_a_new_session_and_the_call_goes_through()
    {
        await using var mcp = await TestMcpServer.StartAsync(stateful: true);
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, AgentProtocols.Classic, Demo(mcp));
        mcp.ExpireSessions = 1;

        var result = await RunAsync(host, new AgentJobRequest("Please use demo__echo with {\"text\": \"again\"}", Tools: ["demo/echo"], Polling: FastPolling));

        Assert.True(result.Outcome == JobOutcome.Completed, result.Failure?.Message);
        var call = Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls));
        Assert.Equal("echo: again", call.Output);
        Assert.Equal(2, mcp.Calls.Count(c => c.Tool == "echo")); // the one that found its session gone, then the new session's
        Assert.True(mcp.Initializes >= 3, $"{mcp.Initializes} initializes: tools/list at job start, the call's session, the new one");
        await AssertNoAgentLeftAsync(server, result);
    }

    /// <summary>
    /// A tool slower than the server's TimeoutSeconds: the call gets an error output saying it timed out (code
    /// mcp_timeout), it is started once (no retries of a call that may still be running there), and the run goes on.
    /// </summary>
    [Fact]
    public async Task A_call_slower_than_the_servers_timeout_gets_a_timed_out_error_output_and_the_run_goes_on()
    {
        await using var mcp = await TestMcpServer.StartAsync();
        await using var server = await StartServerAsync();
        // 8 s: the same TimeoutSeconds bounds the tools/list at job start, which a loaded 2-core machine may take seconds over.
        using var host = await StartWorkflowAsync(server, AgentProtocols.Classic, Demo(mcp) with { Timeout = TimeSpan.FromSeconds(8) });

        var result = await RunAsync(host, new AgentJobRequest("Please use demo__slow with {\"ms\": 120000}", Tools: ["demo/slow"], Polling: FastPolling));

        Assert.True(result.Outcome == JobOutcome.Completed, result.Failure?.Message);
        var call = Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls));
        using var output = JsonDocument.Parse(call.Output!);
        Assert.Contains("timed out after 8 s", output.RootElement.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal("mcp_timeout", output.RootElement.GetProperty("code").GetString());
        Assert.Equal(1, mcp.Calls.Count(c => c.Tool == "slow"));
        Assert.Contains("timed out", result.Reply, StringComparison.Ordinal);
        await AssertNoAgentLeftAsync(server, result);
    }

    static McpServerSettings Demo(TestMcpServer mcp) =>
        new("demo", mcp.Url, new Dictionary<string, string>(), null, TimeSpan.FromSeconds(30));







    static Task<IHost> StartWorkflowAsync(LocalAgentServer server, string protocol, McpServerSettings? mcp = null, Action<IServiceCollection>? configure = null) =>
        LocalServiceJobs.StartWorkflowAsync(server, protocol, configure: services =>
        {
            services.AddSingleton(new McpToolServers(mcp is null ? [] : [mcp]));
            configure?.Invoke(services);
        });

}
