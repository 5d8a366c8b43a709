using System.Text.Json;
using AgentJobs.AgentService;
using AgentJobs.ApiContract;
using AgentJobs.Hosting;
using AgentJobs.Tests.Support;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Tests.Support;

/// <summary>
/// The Functions app in-process for the contract suite: the container Program builds
/// (<see cref="AgentFunctionsStartup.ConfigureServices"/> with the settings of local.settings.sample.json), the
/// scripted fake behind <see cref="IAgentService"/>, the in-memory Durable backend running the app's own
/// orchestrator and activity wrappers, and the HTTP triggers invoked through <see cref="InProcessHttp"/>.
/// </summary>
public sealed class FunctionsApiHost : IAgentJobsMcpHost, IAsyncLifetime
{
    /// <summary>Prompts starting with this marker get a run that stays in progress (until cancelled).</summary>
    public const string LongRunningMarker = "[long-running]";

    /// <summary>Prompts starting with this get one round calling <c>calculate</c> with the JSON that follows.</summary>
    public const string ToolCallingPrefix = "Please use calculate with ";

    IHost? host;
    InProcessHttp? http;

    public ScriptedAgentService Service { get; } = new()
    {
        Script = prompt => prompt switch
        {
            _ when prompt.StartsWith(LongRunningMarker, StringComparison.Ordinal) => [.. Enumerable.Repeat(ScriptStep.Of("in_progress"), 1_000_000)],
            _ when prompt.StartsWith(ToolCallingPrefix, StringComparison.Ordinal) =>
                [ScriptStep.Tools(new ToolCallRequest("call_calculate", "calculate", prompt[ToolCallingPrefix.Length..].Trim())), ScriptStep.Of("completed")],
            _ => [ScriptStep.Of("in_progress"), ScriptStep.Of("completed")],
        },
    };

    public int MaxPromptLength { get; private set; }

    public string McpPath => "api/mcp";

    public string CompletingPrompt => "Hello, tell me a joke";

    public string LongRunningPrompt => LongRunningMarker + " think about it for a long time";

    public IServiceProvider Services => host?.Services ?? throw new InvalidOperationException("Not started.");

    /// <summary>The app's settings as a developer's local.settings.json has them (the sample's Values).</summary>
    public static IConfiguration SampleConfiguration()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(RepoFiles.At("local.settings.sample.json")));
        var values = sample.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => p.Value.GetString());
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    public string ConfiguredModel => "contract-model";

    public Task<string?> AgentModelAsync(string agentId, CancellationToken cancellationToken) =>
        Task.FromResult(Service.CreatedAgents.TryGetValue(agentId, out var agent) ? agent.Model : null);

    public async ValueTask InitializeAsync()
    {
        // The sample's settings, with a model deployment that is not the built-in default.
        var configuration = new ConfigurationBuilder()
            .AddConfiguration(SampleConfiguration())
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AgentService:Model"] = ConfiguredModel })
            .Build();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton<IAgentService>(Service);
        AgentFunctionsStartup.ConfigureServices(builder.Services, configuration);
        builder.Services.AddInMemoryDurableBackend(r => r.AddFunctionsAppTasks());
        host = builder.Build();
        await host.StartAsync();
        MaxPromptLength = host.Services.GetRequiredService<AgentJobs.Http.AgentJobsApiOptions>().MaxPromptLength;
        http = new InProcessHttp(host.Services, host.Services.GetRequiredService<DurableTaskClient>());
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        (http ?? throw new InvalidOperationException("Not started.")).SendAsync(request, cancellationToken);

    public Task<bool> AgentExistsAsync(string agentId, CancellationToken cancellationToken) =>
        Task.FromResult(Service.LiveAgents.Contains(agentId));

    public async ValueTask DisposeAsync()
    {
        if (host is not null)
        {
            await host.StopAsync();
            host.Dispose();
        }
    }
}
