using AgentJobs.Application;
using AgentJobs.Batches;
using AgentJobs.Configuration;
using AgentJobs.Contracts;
using AgentJobs.Hosting;
using AgentJobs.Http;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Tests;

/// <summary>Runs the 200-item batch alone: it saturates both cores for ~17 s, which would skew the timing of deadline and cancel tests beside it.</summary>
[CollectionDefinition(nameof(BatchEndToEndTests), DisableParallelization = true)]
public sealed class BatchEndToEndRunsAlone;

/// <summary>
/// Batches end to end against the local agent service (classic protocol) with faults injected: every item ends
/// in a terminal state, the counts add up, and no agent is left behind.
/// </summary>
[Collection(nameof(BatchEndToEndTests))]
public class BatchEndToEndTests
{
    const string Key = "batch-test-key";

    [Fact]
    public async Task Two_hundred_prompts_with_injected_faults_all_end_and_leave_no_agent()
    {
        var options = new LocalAgentServerOptions { ApiKey = Key };
        options.Simulation.QueuedMs = 10;
        options.Simulation.InProgressMs = 40;
        options.Simulation.CancellingMs = 10;
        await using var server = await LocalAgentServer.StartAsync(options, TestContext.Current.CancellationToken);

        // Transient faults the workflow retries, and runs the service fails or expires (terminal job outcomes).
        server.AddFault(new FaultRule { Operation = "create-assistant", Mode = "429", Count = 15, RetryAfterMs = 50 });
        server.AddFault(new FaultRule { Operation = "get-run", Mode = "500", Count = 40 });
        server.AddFault(new FaultRule { Operation = "create-message", Mode = "drop", Count = 10 });
        server.AddFault(new FaultRule { Operation = "create-run", Mode = "run-fail", Count = 12 });
        server.AddFault(new FaultRule { Operation = "create-run", Mode = "run-expire", Count = 6 });
        server.AddFault(new FaultRule { Operation = "delete-assistant", Mode = "503", Count = 10 });

        using var host = await StartWorkflowAsync(server);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var template = host.Services.GetRequiredService<AgentJobPolicy>().Settle(
            new AgentJobRequest("", Tools: ["calculate"], Polling: new PollingSettings(InitialDelayMs: 20, MaxDelayMs: 200)));
        var prompts = Enumerable.Range(0, 200).Select(i => i % 4 == 0 ? $"What is {i} * 3?" : $"Hello #{i}, tell me a joke").ToList();

        var id = await client.ScheduleNewOrchestrationInstanceAsync(
            AgentBatchOrchestrator.Name, new AgentBatchWork(template, prompts, MaxParallel: 25), TestContext.Current.CancellationToken);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(240));
        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);

        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        var progress = done.ReadOutputAs<AgentBatchProgress>()!;
        Assert.Equal(200, progress.Total);
        Assert.Equal(200, progress.Finished);
        Assert.Equal(200, progress.Outcomes.Values.Sum());
        Assert.Empty(progress.Running);
        Assert.True(progress.Generation >= 1, "200 items take more than one generation (continue-as-new)");
        Assert.True(progress.Outcomes.GetValueOrDefault("Failed") + progress.Outcomes.GetValueOrDefault("Expired") >= 1, "the injected run faults show");
        Assert.True(progress.Outcomes.GetValueOrDefault("Completed") >= 150, string.Join(", ", progress.Outcomes));
        Assert.False(progress.Outcomes.ContainsKey(AgentBatchOutcomes.OrchestrationFailed));

        for (var i = 0; i < prompts.Count; i++)
        {
            var item = await client.GetInstanceAsync(InstanceIds.BatchItem(id, i), getInputsAndOutputs: true, TestContext.Current.CancellationToken);
            Assert.True(item is { RuntimeStatus: OrchestrationRuntimeStatus.Completed }, $"item {i}: {item?.RuntimeStatus}");
            Assert.True(item!.ReadOutputAs<AgentJobResult>()!.AgentDeleted, $"item {i} left its agent");
        }

        var stats = await server.GetStatsAsync();
        Assert.Equal(0, stats.Agents);
        Assert.Equal(stats.AssistantsCreated, stats.AssistantsDeleted);
        Assert.True(stats.AssistantsCreated >= 200);
    }

    static async Task<IHost> StartWorkflowAsync(LocalAgentServer server)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddAgentJobs(AgentServiceEndpoint.Resolve(new AgentServiceOptions
        {
            Protocol = AgentProtocols.Classic,
            Endpoint = server.ProjectEndpoint.ToString(),
            ApiKey = Key,
        }));
        builder.Services.AddInMemoryDurableBackend(r => r.AddAgentJobTasks());
        var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        return host;
    }
}
