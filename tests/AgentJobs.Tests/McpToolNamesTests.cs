using AgentJobs.Application;
using AgentJobs.Configuration;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Tools;
using AgentJobs.Tools.Mcp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tests;

/// <summary>MCP tool references, agent-facing names, output caps, settings and submit-time validation.</summary>
public class McpToolNamesTests
{
    [Theory]
    [InlineData("demo", "echo", "demo__echo")]
    [InlineData("my-server", "get_weather", "my-server__get_weather")]
    public void Valid_names_are_kept_as_server__tool(string server, string tool, string expected) =>
        Assert.Equal(expected, McpToolNames.FunctionName(server, tool));

    [Fact]
    public void Invalid_or_long_names_become_valid_deterministic_and_distinct()
    {
        var dotted = McpToolNames.FunctionName("demo", "files.read");
        var underscored = McpToolNames.FunctionName("demo", "files_read");
        var longName = McpToolNames.FunctionName("demo", new string('a', 100));

        foreach (var name in new[] { dotted, longName })
        {
            Assert.Matches("^[a-zA-Z0-9_-]{1,64}$", name);
            Assert.StartsWith("demo__", name);
        }

        Assert.Equal("demo__files_read", underscored);
        Assert.NotEqual(dotted, underscored);
        Assert.Equal(dotted, McpToolNames.FunctionName("demo", "files.read"));
        Assert.NotEqual(longName, McpToolNames.FunctionName("demo", new string('a', 99) + "b"));
        Assert.Equal("demo", McpToolNames.ServerOf(longName));
    }

    [Fact]
    public void Output_is_capped_at_32_KB_with_a_marker_saying_how_much_was_cut()
    {
        Assert.Equal("short", McpToolSource.Cap("short"));
        var capped = McpToolSource.Cap(new string('é', 40_000)); // 2 bytes each: 80,000 bytes
        Assert.True(System.Text.Encoding.UTF8.GetByteCount(capped) <= McpToolSource.MaxOutputBytes);
        var kept = capped.TakeWhile(c => c == 'é').Count();
        Assert.EndsWith($"[output truncated: {80_000 - (kept * 2)} of 80000 bytes cut]", capped);
    }

    [Fact]
    public void Settings_are_read_from_configuration_and_bad_ones_name_the_setting()
    {
        var servers = McpToolServers.FromConfiguration(Config(new()
        {
            ["AgentJobs:McpServers:docs:Url"] = "http://127.0.0.1:5300/mcp",
            ["AgentJobs:McpServers:docs:Headers:X-Api-Key"] = "secret",
            ["AgentJobs:McpServers:docs:AllowedTools"] = "search, fetch",
            ["AgentJobs:McpServers:all:Url"] = "https://example.invalid/mcp",
            ["AgentJobs:McpServers:all:TimeoutSeconds"] = "5",
        }));

        Assert.Equal(["all", "docs"], servers.Names);
        Assert.True(servers.TryGet("DOCS", out var docs));
        Assert.True(docs.Allows("search"));
        Assert.False(docs.Allows("delete"));
        Assert.Equal("secret", docs.Headers["x-api-key"]);
        Assert.DoesNotContain("secret", docs.ToString());
        Assert.True(servers.Servers["all"].Allows("anything"));
        Assert.Equal(TimeSpan.FromSeconds(5), servers.Servers["all"].Timeout);

        var noUrl = Assert.Throws<AgentServiceConfigurationException>(() => McpToolServers.FromConfiguration(Config(new() { ["AgentJobs:McpServers:x:Headers:A"] = "b" })));
        Assert.Contains("AgentJobs__McpServers__x__Url", noUrl.Message);
        var badName = Assert.Throws<AgentServiceConfigurationException>(() => McpToolServers.FromConfiguration(Config(new() { ["AgentJobs:McpServers:my_server:Url"] = "http://127.0.0.1/mcp" })));
        Assert.Contains("my_server", badName.Message);
        var badHeader = Assert.Throws<AgentServiceConfigurationException>(() => McpToolServers.FromConfiguration(Config(new()
        {
            ["AgentJobs:McpServers:x:Url"] = "http://127.0.0.1/mcp",
            ["AgentJobs:McpServers:x:Headers:A"] = "line\nbreak-secret",
        })));
        Assert.DoesNotContain("break-secret", badHeader.Message);
    }

    [Theory]
    [InlineData("nope/echo", "Unknown MCP server 'nope' in tool 'nope/echo'. Configured MCP servers: docs.")]
    [InlineData("docs/delete", "Tool 'delete' of MCP server 'docs' is not in its AllowedTools (fetch, search).")]
    [InlineData("docs/", "Tool 'docs/' is not a valid MCP tool reference; use '<server>/<tool>' or '<server>/*'.")]
    [InlineData("/echo", "Tool '/echo' is not a valid MCP tool reference; use '<server>/<tool>' or '<server>/*'.")]
    [InlineData("nothing", "Unknown tool 'nothing'. Available tools: calculate, get_utc_now.")]
    public void Submit_time_validation_names_the_server_or_tool(string tool, string message)
    {
        var validator = Services(new McpToolServers([Settings("docs", "search", "fetch")])).GetRequiredService<AgentJobRequestValidator>();

        var problem = validator.Validate(new AgentJobRequest("hi", Tools: [tool]));

        Assert.Equal("tools", problem?.Field);
        Assert.Equal(message, problem?.Message);
    }

    [Fact]
    public void Known_servers_allowed_tools_and_wildcards_pass_submit_time_validation()
    {
        var validator = Services(new McpToolServers([Settings("docs", "search"), Settings("all")])).GetRequiredService<AgentJobRequestValidator>();

        Assert.Null(validator.Validate(new AgentJobRequest("hi", Tools: ["calculate", "docs/search", "docs/*", "all/whatever", "ALL/x"])));
    }

    [Fact]
    public void Without_mcp_servers_a_reference_says_none_are_configured()
    {
        var validator = Services(McpToolServers.None).GetRequiredService<AgentJobRequestValidator>();

        var problem = validator.Validate(new AgentJobRequest("hi", Tools: ["docs/search"]));

        Assert.Contains("no MCP servers are configured (AgentJobs__McpServers__<name>__Url)", problem?.Message);
    }

    [Fact]
    public async Task A_ToolCallContext_parameter_is_bound_and_left_out_of_the_schema()
    {
        var services = new ServiceCollection();
        services.AddBuiltInAgentTools();
        services.AddAgentTool("send", "Sends once.", (string to, ToolCallContext call) => $"{to} {call.IdempotencyKey}");
        var registry = services.BuildServiceProvider().GetRequiredService<AgentToolRegistry>();

        Assert.DoesNotContain("call", registry.GetSpec("send").ParametersSchema, StringComparison.OrdinalIgnoreCase);
        var output = await registry.InvokeAsync(new AgentService.ToolCallRequest("call_7", "send", """{"to":"bob"}""", JobId: "job1"), TestContext.Current.CancellationToken);
        Assert.Equal("bob job1:tool:call_7", output.Output);
    }

    static McpServerSettings Settings(string name, params string[] allowed) =>
        new(name, new Uri("http://127.0.0.1:1/mcp"), new Dictionary<string, string>(), allowed.Length == 0 ? null : allowed.ToHashSet(), TimeSpan.FromSeconds(5));

    static ServiceProvider Services(McpToolServers servers)
    {
        var services = new ServiceCollection();
        services.AddSingleton(servers);
        services.AddAgentJobsCore();
        return services.BuildServiceProvider();
    }

    static IConfiguration Config(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values).Build();
}
