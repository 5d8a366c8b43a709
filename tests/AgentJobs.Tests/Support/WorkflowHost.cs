using AgentJobs.AgentService;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Hosting;
using AgentJobs.Http;
using AgentJobs.Workflow;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Tests.Support;

/// <summary>
/// The real workflow on the real Durable Task SDK (in-process backend, real replay, real timers) with the
/// scripted fake behind the agent-service port.
/// </summary>
public sealed class WorkflowHost : IAsyncDisposable
{
    readonly IHost host;

    WorkflowHost(IHost host, ScriptedAgentService service)
    {
        this.host = host;
        Service = service;
    }

    public ScriptedAgentService Service { get; }

    public DurableTaskClient Client => host.Services.GetRequiredService<DurableTaskClient>();

    public IServiceProvider Services => host.Services;

    /// <summary>The backend's history recorder, when the host was started with <c>recordHistory</c>.</summary>
    public HistoryRecordingOrchestrationService History => (HistoryRecordingOrchestrationService)host.Services.GetRequiredService<InMemoryOrchestrationService>();

    public static async Task<WorkflowHost> StartAsync(Action<IServiceCollection>? configure = null, bool recordHistory = false)
    {
        var service = new ScriptedAgentService();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton<IAgentService>(service);
        builder.Services.AddAgentJobsCore();
        configure?.Invoke(builder.Services);
        builder.Services.AddInMemoryDurableBackend(r => r.AddAgentJobTasks());
        if (recordHistory)
        {
            builder.Services.AddSingleton<InMemoryOrchestrationService>(sp => new HistoryRecordingOrchestrationService(sp.GetService<ILoggerFactory>()));
        }

        var host = builder.Build();
        await host.StartAsync();
        return new WorkflowHost(host, service);
    }

    /// <summary>Fast polling for tests: 20 ms growing to 100 ms.</summary>
    public static PollingSettings FastPolling { get; } = new(InitialDelayMs: 20, MaxDelayMs: 100);

    /// <summary>A job with fast polling; tests adjust it with <c>with</c>.</summary>
    public static AgentJobRequest Job(string prompt = "Hello, tell me a joke") => new(prompt, Polling: FastPolling);

    /// <summary>Schedules a job as the API does: settled by the host's <see cref="AgentJobPolicy"/> first.</summary>
    public Task<string> StartJobAsync(AgentJobRequest request) =>
        Client.ScheduleNewOrchestrationInstanceAsync(
            AgentJobOrchestrator.Name, host.Services.GetRequiredService<AgentJobPolicy>().Settle(request), TestContext.Current.CancellationToken);

    /// <summary>Waits (bounded) for the instance to reach a terminal runtime status.</summary>
    public async Task<OrchestrationMetadata> WaitForEndAsync(string instanceId, int timeoutSeconds = 60)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        return await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, cts.Token);
    }

    /// <summary>Runs a job to the end; the orchestration itself must complete (the job's outcome may be anything).</summary>
    public async Task<AgentJobResult> RunJobAsync(AgentJobRequest request, int timeoutSeconds = 60)
    {
        var id = await StartJobAsync(request);
        return ResultOf(await WaitForEndAsync(id, timeoutSeconds));
    }

    public static AgentJobResult ResultOf(OrchestrationMetadata done)
    {
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<AgentJobResult>()!;
    }

    /// <summary>An instance's custom status, or default when it has none yet.</summary>
    public async Task<T?> CustomStatusAsync<T>(string instanceId)
    {
        var metadata = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, TestContext.Current.CancellationToken);
        return metadata?.SerializedCustomStatus is null ? default : metadata.ReadCustomStatusAs<T>();
    }

    /// <summary>Polls a condition until it holds; fails the test after the timeout.</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int timeoutSeconds = 30)
    {
        var until = DateTime.UtcNow.AddSeconds(timeoutSeconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < until, $"Timed out after {timeoutSeconds} s waiting for {what}.");
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Waits until the job's run has been read at least <paramref name="polls"/> times.</summary>
    public Task WaitForPollsAsync(int polls = 1) =>
        WaitUntilAsync(() => Task.FromResult(Service.Count("GetRun") >= polls), $"{polls} poll(s)");

    /// <summary>The cleanup every job owes: its one agent deleted exactly once, nothing left on the service.</summary>
    public void AssertAgentCleanedUp(AgentJobResult result)
    {
        Assert.True(result.AgentDeleted);
        Assert.Equal(1, Service.Count("DeleteAgent"));
        Assert.Empty(Service.LiveAgents);
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
    }
}
