using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using AgentJobs.AgentService;
using AgentJobs.AgentService.Foundry;
using AgentJobs.Configuration;
using LocalAgentService;

namespace AgentJobs.Tests;

/// <summary>
/// The Foundry adapter's requests checked against the shapes in the protocol reference (agent versions with a
/// prompt definition and flat function tools; background responses with an agent_reference; tool outputs as
/// function_call_output items), recorded on the wire while the adapter drives the local agent service.
/// </summary>
public class FoundryRequestContractTests
{
    const string Key = "contract-key";

    [Fact]
    public async Task A_tool_round_trip_sends_the_documented_request_shapes()
    {
        var options = new LocalAgentServerOptions { ApiKey = Key };
        options.Simulation.QueuedMs = 10;
        options.Simulation.InProgressMs = 20;
        await using var server = await LocalAgentServer.StartAsync(options, TestContext.Current.CancellationToken);
        var recorder = new RecordingHandler { InnerHandler = new HttpClientHandler() };
        using var http = new HttpClient(recorder);
        var endpoint = AgentServiceEndpoint.Resolve(new AgentServiceOptions
        {
            Protocol = AgentProtocols.Foundry,
            Endpoint = server.ProjectEndpoint.ToString(),
            ApiKey = Key,
        });
        var service = AgentServiceClients.CreateFoundryAgentService(endpoint, null!, new HttpClientPipelineTransport(http));
        var ct = TestContext.Current.CancellationToken;

        var tool = new FunctionToolSpec("calculate", "Arithmetic.", """{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}""");
        var agent = await service.CreateAgentAsync(
            new AgentDefinition("My Agent!", "gpt-4o-mini", "You are a helpful agent", [tool], new Dictionary<string, string> { ["agentfunctions_job"] = "job-1" }),
            "job-1:agent", ct);
        var thread = await service.CreateThreadAsync("job-1:thread", ct);
        await service.AddUserMessageAsync(thread, "Use calculate on {\"expression\": \"6*7\"}", "job-1:message", ct);
        var run = await service.StartRunAsync(agent, thread, "job-1:run", ct);
        run = await PollAsync(service, run, AgentRunStatus.RequiresAction);
        var call = Assert.Single(run.ToolCalls);
        var next = await service.SubmitToolOutputsAsync(agent, run.Ref, [new ToolOutput(call.Id, """{"value":42}""")], ct);
        await PollAsync(service, next, AgentRunStatus.Completed);
        Assert.True(await service.DeleteAgentAsync(agent, ct));

        // Agent version: POST {project}/agents/{name}/versions?api-version=v1 with a prompt definition.
        var create = recorder.Single("POST", $"/api/projects/local/agents/{agent.Name}/versions");
        Assert.Contains("api-version=v1", create.Query);
        var definition = create.Body!["definition"]!;
        Assert.Equal("prompt", (string?)definition["kind"]);
        Assert.Equal("gpt-4o-mini", (string?)definition["model"]);
        Assert.Equal("You are a helpful agent", (string?)definition["instructions"]);
        var flatTool = definition["tools"]![0]!;
        Assert.Equal("function", (string?)flatTool["type"]);
        Assert.Equal("calculate", (string?)flatTool["name"]); // the Responses (flat) shape, not nested under "function"
        Assert.Null(flatTool["function"]);
        Assert.Equal("object", (string?)flatTool["parameters"]!["type"]);
        Assert.Matches("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", agent.Name);

        // Start: a background response on the conversation that references the agent (and names no model).
        var responses = recorder.All("POST", "/api/projects/local/openai/v1/responses");
        Assert.Equal(2, responses.Count);
        var start = responses[0].Body!;
        Assert.Equal("agent_reference", (string?)start["agent_reference"]!["type"]);
        Assert.Equal(agent.Name, (string?)start["agent_reference"]!["name"]);
        Assert.Equal(agent.Version, (string?)start["agent_reference"]!["version"]);
        Assert.True((bool?)start["background"]);
        Assert.Equal(thread, (string?)start["conversation"]);
        Assert.Null(start["model"]);
        Assert.DoesNotContain("api-version", responses[0].Query);

        // Tool outputs: function_call_output items in a follow-up background response. They go on the same
        // conversation rather than previous_response_id (the two cannot be combined), so the conversation keeps
        // the calls, the outputs and the answer for whoever continues it.
        var followUp = responses[1].Body!;
        var output = followUp["input"]![0]!;
        Assert.Equal("function_call_output", (string?)output["type"]);
        Assert.Equal(call.Id, (string?)output["call_id"]);
        Assert.Equal("""{"value":42}""", (string?)output["output"]);
        Assert.Equal("agent_reference", (string?)followUp["agent_reference"]!["type"]);
        Assert.True((bool?)followUp["background"]);
        Assert.Equal(thread, (string?)followUp["conversation"]);
        Assert.Null(followUp["previous_response_id"]);

        // Cleanup: DELETE {project}/agents/{name}?api-version=v1 removes every version.
        var delete = recorder.Single("DELETE", $"/api/projects/local/agents/{agent.Name}");
        Assert.Contains("api-version=v1", delete.Query);
        Assert.Equal(0, (await server.GetStatsAsync()).Agents);
    }

    [Theory]
    [InlineData("my-agent")]
    [InlineData("My Agent!")]
    [InlineData("---")]
    [InlineData("an agent name that is far longer than the sixty-three characters the service allows")]
    public void Agent_names_are_made_valid_and_unique_per_job(string requested)
    {
        var a = AgentNames.ForJob(requested, "job-a:agent");
        var b = AgentNames.ForJob(requested, "job-b:agent");

        Assert.Matches("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", a);
        Assert.InRange(a.Length, 1, AgentNames.MaxLength);
        Assert.NotEqual(a, b);
        Assert.Equal(a, AgentNames.ForJob(requested, "job-a:agent")); // a retried create reuses the job's own name
    }

    [Fact]
    public void The_foundry_protocol_needs_a_project_endpoint()
    {
        var ex = Assert.Throws<AgentServiceConfigurationException>(() => AgentServiceEndpoint.Resolve(
            new AgentServiceOptions { Protocol = AgentProtocols.Foundry, Endpoint = "http://127.0.0.1:5110/v1" }));
        Assert.Contains("AgentService:Endpoint", ex.Message);
    }

    static async Task<RunState> PollAsync(FoundryAgentService service, RunState run, AgentRunStatus until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (run.Status != until)
        {
            Assert.True(DateTime.UtcNow < deadline, $"run {run.RunId} stayed {run.RawStatus}");
            Assert.False(run.IsTerminal && run.Status != until, $"run {run.RunId} ended {run.RawStatus}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
            run = await service.GetRunAsync(run.Ref, TestContext.Current.CancellationToken);
        }

        return run;
    }

    sealed record Recorded(string Method, string Path, string Query, JsonNode? Body);

    sealed class RecordingHandler : DelegatingHandler
    {
        readonly ConcurrentQueue<Recorded> requests = new();

        public Recorded Single(string method, string path) => Assert.Single(All(method, path));

        public List<Recorded> All(string method, string path) =>
            [.. requests.Where(r => r.Method == method && r.Path == path)];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            requests.Enqueue(new Recorded(
                request.Method.Method,
                request.RequestUri!.AbsolutePath,
                request.RequestUri.Query,
                string.IsNullOrEmpty(body) ? null : JsonNode.Parse(body)));
            return await base.SendAsync(request, cancellationToken);
        }
    }
}
