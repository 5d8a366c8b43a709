using AgentJobs.Application;
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

namespace AgentJobs.Tests.Support;

/// <summary>
/// The real workflow on the Durable Task SDK (in memory) against the local agent service over HTTP, through either
/// protocol's adapter: the plumbing the end-to-end suites share.
/// </summary>
public static class LocalServiceJobs
{
    /// <summary>The local service's key in these tests.</summary>
    public const string Key = "e2e-test-key";

    /// <summary>Fast polling, no stream: 20 ms growing to 100 ms (these suites test the durable-timer poller; <see cref="StreamFirst"/> streams).</summary>
    public static PollingSettings FastPolling { get; } = new(InitialDelayMs: 20, MaxDelayMs: 100, StreamWindowSeconds: 0);

    /// <summary>Stream-first waiting with a <paramref name="windowSeconds"/> window, fast polling after it.</summary>
    public static PollingSettings StreamFirst(int windowSeconds) => FastPolling with { StreamWindowSeconds = windowSeconds };

    /// <summary>Both agent protocols, for theories.</summary>
    public static TheoryData<string> Protocols => [AgentProtocols.Classic, AgentProtocols.Foundry];

    /// <summary>A local agent service with short simulated runs (<paramref name="inProgressMs"/> in progress).</summary>
    public static Task<LocalAgentServer> StartServerAsync(int inProgressMs = 60)
    {
        var options = new LocalAgentServerOptions { ApiKey = Key };
        options.Simulation.QueuedMs = 20;
        options.Simulation.InProgressMs = inProgressMs;
        options.Simulation.CancellingMs = 20;
        return LocalAgentServer.StartAsync(options, TestContext.Current.CancellationToken);
    }

    /// <summary>The workflow host, configured as the hosts configure it (<c>AddAgentJobs</c>); <paramref name="configure"/> runs first.</summary>
    public static async Task<IHost> StartWorkflowAsync(
        LocalAgentServer server, string protocol, string apiKey = Key, Uri? endpoint = null, Action<IServiceCollection>? configure = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        configure?.Invoke(builder.Services); // registered first, so AddAgentJobs keeps it

        builder.Services.AddAgentJobs(AgentServiceEndpoint.Resolve(new AgentServiceOptions
        {
            Protocol = protocol,
            Endpoint = (endpoint ?? server.ProjectEndpoint).ToString(),
            ApiKey = apiKey,
        }));
        builder.Services.AddInMemoryDurableBackend(r => r.AddAgentJobTasks());
        var host = builder.Build();
        await host.StartAsync(TestContext.Current.CancellationToken);
        return host;
    }

    /// <summary>Schedules a job as the API does: settled by the host's policy (the configured model and defaults).</summary>
    public static Task<string> ScheduleAsync(IHost host, AgentJobRequest request) =>
        host.Services.GetRequiredService<DurableTaskClient>().ScheduleNewOrchestrationInstanceAsync(
            AgentJobOrchestrator.Name, host.Services.GetRequiredService<AgentJobPolicy>().Settle(request), TestContext.Current.CancellationToken);

    /// <summary>Runs a job to its end and returns its result.</summary>
    public static async Task<AgentJobResult> RunAsync(IHost host, AgentJobRequest request) =>
        await CompletionAsync(host.Services.GetRequiredService<DurableTaskClient>(), await ScheduleAsync(host, request));

    /// <summary>Waits (at most 90 s) for the job's orchestration to complete and returns its result.</summary>
    public static async Task<AgentJobResult> CompletionAsync(DurableTaskClient client, string id)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(90));
        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<AgentJobResult>()!;
    }

    /// <summary>Waits (at most 30 s) until the job's custom status shows <paramref name="phase"/>.</summary>
    public static async Task WaitForPhaseAsync(DurableTaskClient client, string id, JobPhase phase)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < until)
        {
            var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, TestContext.Current.CancellationToken);
            if (instance?.ReadCustomStatusAs<JobProgress>()?.Phase == phase)
            {
                return;
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }

        Assert.Fail($"Job {id} never reached phase {phase}.");
    }

    /// <summary>The job's agent is gone and the service holds no agent at all.</summary>
    public static async Task AssertNoAgentLeftAsync(LocalAgentServer server, AgentJobResult result)
    {
        Assert.True(result.AgentDeleted);
        var stats = await server.GetStatsAsync();
        Assert.Equal(0, stats.Agents); // assistants and versioned agents alike
        Assert.Equal(stats.AssistantsCreated, stats.AssistantsDeleted);
        Assert.True(stats.AssistantsCreated + stats.AgentsDeleted >= 1, "the job created (and deleted) no agent at all");
    }
}
