using AgentJobs.AgentService;
using AgentJobs.Hosting;
using AgentJobs.Workflow;
using Microsoft.DurableTask.Client;
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

    public static async Task<WorkflowHost> StartAsync(Action<IServiceCollection>? configure = null)
    {
        var service = new ScriptedAgentService();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton<IAgentService>(service);
        builder.Services.AddAgentJobsCore();
        configure?.Invoke(builder.Services);
        builder.Services.AddInMemoryDurableBackend(r => r.AddAgentJobTasks());
        var host = builder.Build();
        await host.StartAsync();
        return new WorkflowHost(host, service);
    }

    public async ValueTask DisposeAsync()
    {
        await host.StopAsync();
        host.Dispose();
    }
}
