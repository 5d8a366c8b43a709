using AgentJobs.Contracts;
using AgentJobs.Tests.Support;
using AgentJobs.Workflow;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Tests;

public class SmokeTests
{
    [Fact]
    public async Task Happy_path_completes_and_deletes_the_agent()
    {
        await using var host = await WorkflowHost.StartAsync();
        var request = new AgentJobRequest("Hello, tell me a joke", Polling: new PollingSettings(InitialDelayMs: 20, MaxDelayMs: 50));
        var id = await host.StartJobAsync(request);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(30));
        var done = await host.Client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var result = done.ReadOutputAs<AgentJobResult>()!;
        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Contains("reply to 'Hello, tell me a joke'", result.Reply);
        Assert.True(result.AgentDeleted);
        Assert.Empty(host.Service.LiveAgents);
        Assert.Equal(1, host.Service.Count("DeleteAgent"));
    }

    [Fact]
    public async Task A_request_that_was_not_settled_at_the_edge_fails_without_creating_anything()
    {
        await using var host = await WorkflowHost.StartAsync();

        // Scheduled straight through the client, bypassing AgentJobPolicy.Settle: no silent fallback model.
        var id = await host.Client.ScheduleNewOrchestrationInstanceAsync(
            AgentJobOrchestrator.Name, new AgentJobRequest("Hello"), TestContext.Current.CancellationToken);
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Equal("invalid_request", result.Failure?.Code);
        Assert.Equal(0, host.Service.Count("CreateAgent"));
        Assert.Null(result.AgentId);
    }
}
