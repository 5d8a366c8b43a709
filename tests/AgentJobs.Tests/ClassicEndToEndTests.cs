using AgentJobs.Configuration;
using AgentJobs.Contracts;
using AgentJobs.Hosting;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Tests;

/// <summary>
/// The whole workflow through the real classic adapter (the OpenAI SDK's AssistantClient) against the local
/// agent service on 127.0.0.1: no fake anywhere below our port.
/// </summary>
public class ClassicEndToEndTests
{
    const string Key = "e2e-test-key";

    static readonly PollingSettings FastPolling = new(InitialDelayMs: 20, MaxDelayMs: 100);

    [Theory]
    [InlineData("openai")]
    [InlineData("project")]
    public async Task Seed_flow_completes_against_the_local_service_and_leaves_no_agent(string shape)
    {
        await using var server = await StartServerAsync();
        var endpoint = shape == "openai" ? server.OpenAIEndpoint : server.ProjectEndpoint;
        using var host = await StartWorkflowAsync(endpoint);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal("completed", result.RunStatus);
        Assert.Contains("simulated", result.Reply, StringComparison.OrdinalIgnoreCase);
        Assert.True(result.AgentDeleted);
        Assert.NotNull(result.ThreadId);
        Assert.StartsWith("thread_", result.ThreadId);
        Assert.Equal(["user", "assistant"], result.Messages.Select(m => m.Role));
        Assert.Contains(result.RunSteps, s => s.Type == "message_creation");
        Assert.NotNull(result.Usage);
        Assert.True(result.Polls >= 1);

        var stats = await server.GetStatsAsync();
        Assert.Equal(0, stats.Assistants);
    }

    [Fact]
    public async Task Tool_round_trip_runs_the_calculate_tool_and_the_reply_uses_its_output()
    {
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server.OpenAIEndpoint);

        var result = await RunAsync(host, new AgentJobRequest(
            "Please use calculate with {\"expression\": \"6 * 7\"}",
            Tools: ["calculate"],
            Polling: FastPolling));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(1, result.ToolCalls);
        Assert.Contains("42", result.Reply);
        var call = Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls));
        Assert.Equal("calculate", call.Name);
        Assert.True(result.AgentDeleted);
        Assert.Equal(0, (await server.GetStatsAsync()).Assistants);
    }

    [Fact]
    public async Task Transient_429s_from_the_service_are_retried_and_the_job_completes()
    {
        await using var server = await StartServerAsync();
        server.AddFault(new FaultRule { Operation = "get-run", Mode = "429", Count = 6 });
        using var host = await StartWorkflowAsync(server.OpenAIEndpoint);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.True(result.AgentDeleted);
        Assert.Equal(0, (await server.GetStatsAsync()).Assistants);
    }

    [Fact]
    public async Task A_run_the_service_fails_ends_failed_with_its_error_and_the_agent_deleted()
    {
        await using var server = await StartServerAsync();
        server.AddFault(new FaultRule { Operation = "create-run", Mode = "run-fail", Count = 1 });
        using var host = await StartWorkflowAsync(server.OpenAIEndpoint);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.NotNull(result.Failure);
        Assert.True(result.AgentDeleted);
        Assert.Equal(0, (await server.GetStatsAsync()).Assistants);
    }

    [Fact]
    public async Task A_wrong_api_key_fails_fast_with_the_services_message()
    {
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server.OpenAIEndpoint, apiKey: "not-the-key");

        var result = await RunAsync(host, new AgentJobRequest("Hello", Polling: FastPolling));

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Contains("401", result.Failure!.Message);
        Assert.Null(result.AgentId);
        Assert.True(result.AgentDeleted); // nothing was created, so nothing is left
    }

    static Task<LocalAgentServer> StartServerAsync()
    {
        var options = new LocalAgentServerOptions { ApiKey = Key };
        options.Simulation.QueuedMs = 20;
        options.Simulation.InProgressMs = 60;
        return LocalAgentServer.StartAsync(options, TestContext.Current.CancellationToken);
    }

    static async Task<IHost> StartWorkflowAsync(Uri endpoint, string apiKey = Key)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        var resolved = AgentServiceEndpoint.Resolve(new AgentServiceOptions { Endpoint = endpoint.ToString(), ApiKey = apiKey });
        builder.Services.AddAgentJobs(resolved);
        builder.Services.AddInMemoryDurableBackend(r => r.AddAgentJobTasks());
        var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        return host;
    }

    static async Task<AgentJobResult> RunAsync(IHost host, AgentJobRequest request)
    {
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var id = await client.ScheduleNewOrchestrationInstanceAsync(AgentJobOrchestrator.Name, request, TestContext.Current.CancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(90));
        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<AgentJobResult>()!;
    }
}
