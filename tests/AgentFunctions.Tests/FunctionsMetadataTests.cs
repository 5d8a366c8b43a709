using System.Text.Json;
using AgentFunctions.Tests.Support;
using AgentJobs.Workflow;

namespace AgentFunctions.Tests;

/// <summary>
/// The functions.metadata the Worker SDK generates at build time, which is what the Functions host indexes.
/// Read from the Functions app's output folder (src/AgentFunctions/bin/&lt;Configuration&gt;/net10.0).
/// </summary>
public class FunctionsMetadataTests
{
    static readonly string MetadataPath = Path.Combine(RepoFiles.FunctionsOutput, "functions.metadata");

    static JsonElement[] Functions()
    {
        Assert.True(File.Exists(MetadataPath), $"{MetadataPath} is missing: build src/AgentFunctions first.");
        using var document = JsonDocument.Parse(File.ReadAllText(MetadataPath));
        return [.. document.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    static IEnumerable<(string Name, JsonElement Trigger)> WithTrigger(string type) =>
        Functions()
            .Select(f => (Name: f.GetProperty("name").GetString()!, Bindings: f.GetProperty("bindings").EnumerateArray().ToList()))
            .SelectMany(f => f.Bindings.Where(b => b.GetProperty("type").GetString() == type).Select(b => (f.Name, b)));

    [Fact]
    public void Lists_the_http_triggers_with_routes_methods_and_function_auth()
    {
        var http = WithTrigger("httpTrigger")
            .Select(x => (x.Name,
                Route: x.Trigger.GetProperty("route").GetString(),
                Methods: string.Join(",", x.Trigger.GetProperty("methods").EnumerateArray().Select(m => m.GetString())),
                Auth: x.Trigger.GetProperty("authLevel").GetString()))
            .OrderBy(x => x.Name, StringComparer.Ordinal);

        Assert.Equal(
            [
                ("AgentJobsDashboard", "dashboard/{file?}", "get", "Function"),
                ("AgentJobsMcp", "mcp", "post,get,delete", "Function"),
                ("CancelAgentBatch", "agent-batches/{id}/cancel", "post", "Function"),
                ("CancelAgentJob", "agent-jobs/{id}/cancel", "post", "Function"),
                ("CancelAgentSessionTurn", "agent-sessions/{id}/cancel-turn", "post", "Function"),
                ("DecideAgentJobToolCall", "agent-jobs/{id}/approvals", "post", "Function"),
                ("DecideAgentSessionToolCall", "agent-sessions/{id}/approvals", "post", "Function"),
                ("DeleteAgentBatch", "agent-batches/{id}", "delete", "Function"),
                ("DeleteAgentJob", "agent-jobs/{id}", "delete", "Function"),
                ("EndAgentSession", "agent-sessions/{id}", "delete", "Function"),
                ("GetAgentBatch", "agent-batches/{id}", "get", "Function"),
                ("GetAgentJob", "agent-jobs/{id}", "get", "Function"),
                ("GetAgentSession", "agent-sessions/{id}", "get", "Function"),
                ("GetAgentSessionTurn", "agent-sessions/{id}/turns/{turn}", "get", "Function"),
                ("ListAgentJobs", "agent-jobs", "get", "Function"),
                ("ListAgentSessionTurns", "agent-sessions/{id}/turns", "get", "Function"),
                ("ListAgentSessions", "agent-sessions", "get", "Function"),
                ("SendAgentSessionTurn", "agent-sessions/{id}/turns", "post", "Function"),
                ("StartAgentBatch", "agent-batches", "post", "Function"),
                ("StartAgentJob", "agent-jobs", "post", "Function"),
                ("StartAgentSession", "agent-sessions", "post", "Function"),
                ("StreamAgentJobEvents", "agent-jobs/{id}/events", "get", "Function"),
            ],
            http);

        // Each HTTP function returns its response through $return; all but the dashboard's static page bind a durable client.
        foreach (var function in Functions().Where(f => f.GetProperty("bindings").EnumerateArray().Any(b => b.GetProperty("type").GetString() == "httpTrigger")))
        {
            var bindings = function.GetProperty("bindings").EnumerateArray().ToList();
            if (function.GetProperty("name").GetString() != "AgentJobsDashboard")
            {
                Assert.Contains(bindings, b => b.GetProperty("type").GetString() == "durableClient");
            }

            Assert.Contains(bindings, b => b.GetProperty("type").GetString() == "http" && b.GetProperty("name").GetString() == "$return");
        }
    }

    [Fact]
    public void Lists_the_orchestration_triggers()
    {
        Assert.Equal(AgentJobTasks.OrchestratorNames.Order(), WithTrigger("orchestrationTrigger").Select(x => x.Name).Order());
    }

    [Fact]
    public void Lists_the_eighteen_activity_triggers()
    {
        var names = WithTrigger("activityTrigger").Select(x => x.Name).ToList();
        Assert.Equal(18, names.Count); // 17, plus CloseSessionMailbox (issue 19, crossing 6)
        Assert.Equal(AgentJobTasks.ActivityNames.Order(), names.Order());
    }

    [Fact]
    public void Lists_nothing_else_and_the_worker_config_and_host_json_are_beside_it()
    {
        Assert.Equal(47, Functions().Length); // 46, plus CloseSessionMailbox (issue 19, crossing 6)
        Assert.True(File.Exists(Path.Combine(RepoFiles.FunctionsOutput, "worker.config.json")));
        Assert.Equal(File.ReadAllText(RepoFiles.At("host.json")), File.ReadAllText(Path.Combine(RepoFiles.FunctionsOutput, "host.json")));
    }
}
