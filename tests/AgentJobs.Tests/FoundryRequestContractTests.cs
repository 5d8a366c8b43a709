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
        var run = await service.StartRunAsync(agent, thread, "Use calculate on {\"expression\": \"6*7\"}", "job-1:run", TimeSpan.Zero, ct);
        run = await PollAsync(service, run, AgentRunStatus.RequiresAction);
        var call = Assert.Single(run.ToolCalls);
        var next = await service.SubmitToolOutputsAsync(agent, run.Ref, [new ToolOutput(call.Id, """{"value":42}""")], "job-1:tools:0", TimeSpan.Zero, ct);
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

        // The user's message is the response's input (no separate conversation item), and the idempotency key
        // rides in the response's metadata, where a retry looks it up.
        var message = start["input"]![0]!;
        Assert.Equal("message", (string?)message["type"]);
        Assert.Equal("user", (string?)message["role"]);
        Assert.Equal("Use calculate on {\"expression\": \"6*7\"}", (string?)message["content"]);
        Assert.Empty(recorder.All("POST", $"/api/projects/local/openai/v1/conversations/{thread}/items"));
        Assert.Equal("job-1:run", (string?)start["metadata"]!["agentfunctions_key"]);
        Assert.Equal("job-1:tools:0", (string?)responses[1].Body!["metadata"]!["agentfunctions_key"]);

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

    [Fact]
    public async Task A_retried_start_or_submit_finds_the_response_it_created_instead_of_starting_another()
    {
        var (server, service, recorder, http) = await StartAsync();
        await using var _ = server;
        using var __ = http;
        var ct = TestContext.Current.CancellationToken;
        var agent = await service.CreateAgentAsync(
            new AgentDefinition("retry", "gpt-4o-mini", "You are a helpful agent", [Calculate], new Dictionary<string, string>()), "job-2:agent", ct);
        var thread = await service.CreateThreadAsync("job-2:thread", ct);

        // The same activity run twice (its first answer lost): one response, one user message.
        var first = await service.StartRunAsync(agent, thread, "Use calculate on {\"expression\": \"1+1\"}", "job-2:run", TimeSpan.Zero, ct);
        var again = await service.StartRunAsync(agent, thread, "Use calculate on {\"expression\": \"1+1\"}", "job-2:run", TimeSpan.Zero, ct);
        Assert.Equal(first.RunId, again.RunId);
        var waiting = await PollAsync(service, first, AgentRunStatus.RequiresAction);

        var outputs = new[] { new ToolOutput(waiting.ToolCalls[0].Id, "2") };
        var submitted = await service.SubmitToolOutputsAsync(agent, waiting.Ref, outputs, "job-2:tools:0", TimeSpan.Zero, ct);
        var resubmitted = await service.SubmitToolOutputsAsync(agent, waiting.Ref, outputs, "job-2:tools:0", TimeSpan.Zero, ct);
        Assert.Equal(submitted.RunId, resubmitted.RunId);
        await PollAsync(service, submitted, AgentRunStatus.Completed);

        Assert.Equal(2, recorder.All("POST", "/api/projects/local/openai/v1/responses").Count);
        var messages = await service.ListMessagesAsync(thread, ct);
        Assert.Single(messages, m => m.Role == "user");

        // A new job with the same text on the same conversation is a new message, not a retry.
        var next = await service.StartRunAsync(agent, thread, "Use calculate on {\"expression\": \"1+1\"}", "job-3:run", TimeSpan.Zero, ct);
        Assert.NotEqual(first.RunId, next.RunId);
        await service.CancelRunAsync(await PollAsync(service, next, AgentRunStatus.RequiresAction), "test over", ct);
        Assert.True(await service.DeleteAgentAsync(agent, ct));
    }

    [Fact]
    public async Task Cancelling_a_response_that_waits_for_tool_outputs_closes_its_calls_so_the_conversation_can_go_on()
    {
        var (server, service, _, http) = await StartAsync();
        await using var _ = server;
        using var __ = http;
        var ct = TestContext.Current.CancellationToken;
        var agent = await service.CreateAgentAsync(
            new AgentDefinition("closer", "gpt-4o-mini", "You are a helpful agent", [Calculate], new Dictionary<string, string>()), "job-4:agent", ct);
        var thread = await service.CreateThreadAsync("job-4:thread", ct);
        var waiting = await PollAsync(service, await service.StartRunAsync(agent, thread, "Please use calculate with {\"expression\": \"6 * 7\"}", "job-4:run", TimeSpan.Zero, ct), AgentRunStatus.RequiresAction);

        // The response has completed with a function call: the service cannot cancel it, so the call is answered.
        var cancelled = await service.CancelRunAsync(waiting, "the caller cancelled", ct);
        Assert.Equal(AgentRunStatus.Cancelled, cancelled.Status);
        Assert.Equal("completed", cancelled.RawStatus); // the service's own word is kept
        var again = await service.CancelRunAsync(waiting, "the caller cancelled", ct); // a retried activity adds nothing
        Assert.Equal(AgentRunStatus.Cancelled, again.Status);

        var steps = await service.ListRunStepsAsync(thread, [waiting.RunId], ct);
        var closed = Assert.Single(Assert.Single(steps, s => s.Type == "tool_calls").ToolCalls);
        Assert.Contains("job_stopped", closed.Output);
        Assert.Contains("the caller cancelled", closed.Output);

        // The next job on this conversation runs; before the fix it failed with "No tool output found for function call".
        var next = await PollAsync(service, await service.StartRunAsync(agent, thread, "Hello again", "job-5:run", TimeSpan.Zero, ct), AgentRunStatus.Completed);
        Assert.Equal(AgentRunStatus.Completed, next.Status);
        Assert.True(await service.DeleteAgentAsync(agent, ct));
    }

    [Fact]
    public async Task Cancelling_a_response_that_already_ended_returns_it_as_it_ended()
    {
        var (server, service, _, http) = await StartAsync();
        await using var _ = server;
        using var __ = http;
        var ct = TestContext.Current.CancellationToken;
        var agent = await service.CreateAgentAsync(
            new AgentDefinition("ended", "gpt-4o-mini", "You are a helpful agent", [], new Dictionary<string, string>()), "job-6:agent", ct);
        var thread = await service.CreateThreadAsync("job-6:thread", ct);
        var done = await PollAsync(service, await service.StartRunAsync(agent, thread, "Hello", "job-6:run", TimeSpan.Zero, ct), AgentRunStatus.Completed);

        var after = await service.CancelRunAsync(done with { Status = AgentRunStatus.InProgress, RawStatus = "in_progress" }, "too late", ct);
        Assert.Equal(AgentRunStatus.Completed, after.Status);
        Assert.True(await service.DeleteAgentAsync(agent, ct));
    }

    static readonly FunctionToolSpec Calculate =
        new("calculate", "Arithmetic.", """{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}""");

    static async Task<(LocalAgentServer Server, FoundryAgentService Service, RecordingHandler Recorder, HttpClient Http)> StartAsync()
    {
        var options = new LocalAgentServerOptions { ApiKey = Key };
        options.Simulation.QueuedMs = 10;
        options.Simulation.InProgressMs = 20;
        var server = await LocalAgentServer.StartAsync(options, TestContext.Current.CancellationToken);
        var recorder = new RecordingHandler { InnerHandler = new HttpClientHandler() };
        var http = new HttpClient(recorder);
        var endpoint = AgentServiceEndpoint.Resolve(new AgentServiceOptions { Protocol = AgentProtocols.Foundry, Endpoint = server.ProjectEndpoint.ToString(), ApiKey = Key });
        return (server, AgentServiceClients.CreateFoundryAgentService(endpoint, null!, new HttpClientPipelineTransport(http)), recorder, http);
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
