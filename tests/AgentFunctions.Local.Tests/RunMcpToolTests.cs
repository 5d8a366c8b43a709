using System.Text.Json;
using AgentFunctions.Local.Tests.Support;
using AgentJobs.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary><c>run --tool server/tool</c> as a process against a real MCP server on 127.0.0.1.</summary>
public class RunMcpToolTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Run_calls_an_mcp_tool_configured_by_environment_or_option()
    {
        await using var mcp = await TestMcpServer.StartAsync();

        var byEnvironment = await LocalCli.RunAsync(Timeout, new Dictionary<string, string> { ["AgentJobs__McpServers__demo__Url"] = mcp.Url.ToString() },
            "run", "Please use demo__echo with {\"text\": \"from the cli\"}", "--tool", "demo/echo", "--json");
        var byOption = await LocalCli.RunAsync(Timeout, null,
            "run", "Please use demo__weather with {\"city\": \"Oslo\"}", "--tool", "demo/*", "--mcp-server", $"demo={mcp.Url}", "--json");

        Assert.True(byEnvironment.ExitCode == 0, $"exit {byEnvironment.ExitCode}; stderr: {byEnvironment.StdErr}; stdout: {byEnvironment.StdOut}");
        using (var json = JsonDocument.Parse(byEnvironment.StdOut))
        {
            Assert.Contains("echo: from the cli", json.RootElement.GetProperty("reply").GetString());
        }

        Assert.True(byOption.ExitCode == 0, $"exit {byOption.ExitCode}; stderr: {byOption.StdErr}; stdout: {byOption.StdOut}");
        using (var json = JsonDocument.Parse(byOption.StdOut))
        {
            Assert.Contains("sunny", json.RootElement.GetProperty("reply").GetString());
        }

        Assert.Equal(2, mcp.Calls.Count);
        Assert.All(mcp.Calls, c => Assert.Matches("^[0-9a-f]{32}:tool:", c.Key));
    }

    [Fact]
    public async Task Run_with_an_unknown_mcp_server_exits_2_naming_it()
    {
        var output = await LocalCli.RunAsync(Timeout, null, "run", "Hello", "--tool", "nope/echo");

        Assert.Equal(Cli.ConfigurationError, output.ExitCode);
        Assert.Contains("Unknown MCP server 'nope'", output.StdErr);
    }

    /// <summary>An MCP server that is down fails the job before an agent exists, and the summary says no agent was created.</summary>
    [Fact]
    public async Task Run_with_an_mcp_server_that_is_down_fails_before_creating_an_agent()
    {
        var port = LocalCli.FreePort();
        var output = await LocalCli.RunAsync(Timeout, null, "run", "Hello", "--tool", "down/*", "--mcp-server", $"down=http://127.0.0.1:{port}/mcp");

        Assert.Equal(Cli.JobNotCompleted, output.ExitCode);
        Assert.Contains("down", Assert.Single(output.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)), StringComparison.Ordinal);
        Assert.Contains("no agent created", output.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("agent deleted", output.StdOut, StringComparison.Ordinal);
    }
}
