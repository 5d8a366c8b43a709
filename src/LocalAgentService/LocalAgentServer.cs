using LocalAgentService.Faults;
using LocalAgentService.Hosting;
using LocalAgentService.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace LocalAgentService;

/// <summary>
/// The local agent service hosted in-process on 127.0.0.1 (a free port by default).
/// Point the OpenAI SDK at <see cref="OpenAIEndpoint"/>, Azure OpenAI clients at <see cref="BaseAddress"/>,
/// or project-style clients at <see cref="ProjectEndpoint"/> (with <c>api-version=v1</c>).
/// </summary>
public sealed class LocalAgentServer : IAsyncDisposable
{
    private readonly WebApplication app;

    private LocalAgentServer(WebApplication app, Uri baseAddress, string? apiKey)
    {
        this.app = app;
        BaseAddress = baseAddress;
        ApiKey = apiKey;
    }

    /// <summary>Root address, e.g. <c>http://127.0.0.1:53124/</c> (Azure OpenAI shape: <c>{root}/openai/...</c>).</summary>
    public Uri BaseAddress { get; }

    /// <summary>OpenAI shape: <c>{root}/v1</c>.</summary>
    public Uri OpenAIEndpoint => new(BaseAddress, "v1");

    /// <summary>
    /// Foundry project shape: <c>{root}/api/projects/local</c> (classic and agent routes need <c>api-version</c>);
    /// Responses/Conversations clients use <c>{ProjectEndpoint}/openai/v1</c> (no api-version).
    /// </summary>
    public Uri ProjectEndpoint => new(BaseAddress, "api/projects/local");

    /// <summary>The API key the server requires, or null when it accepts any request.</summary>
    public string? ApiKey { get; }

    /// <summary>Starts the service and returns once it accepts requests.</summary>
    /// <param name="options">Settings; null for defaults (no API key, default timings, simulated models).</param>
    /// <param name="ct">Cancels start-up.</param>
    public static async Task<LocalAgentServer> StartAsync(LocalAgentServerOptions? options = null, CancellationToken ct = default)
    {
        var app = ServiceApp.Build([], options ?? new LocalAgentServerOptions());
        await app.StartAsync(ct).ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new LocalAgentServer(app, new Uri(address.TrimEnd('/') + "/"), options?.ApiKey);
    }

    /// <summary>Live counts (assistants, threads, runs by status, totals created/deleted); same data as <c>GET /admin/stats</c>.</summary>
    public Task<AgentServiceStats> GetStatsAsync() =>
        Task.FromResult(app.Services.GetRequiredService<AgentStore>().GetStats());

    /// <summary>
    /// The precise moment (not rounded to seconds like the wire timestamps) the engine last moved a classic run or a
    /// response to a terminal status or to <c>requires_action</c>. For measuring how late a client learns of it.
    /// </summary>
    /// <param name="runOrResponseId">A classic run id (<c>run_…</c>) or a response id (<c>resp_…</c>).</param>
    /// <param name="at">The moment, from the server's clock (<see cref="TimeProvider.System"/>).</param>
    /// <returns>False while the run has not settled yet, or for an unknown id.</returns>
    public bool TryGetRunSettledAt(string runOrResponseId, out DateTimeOffset at) =>
        app.Services.GetRequiredService<AgentStore>().TryGetSettledAt(runOrResponseId, out at);

    /// <summary>Adds a fault rule, like <c>POST /admin/faults</c>.</summary>
    public void AddFault(FaultRule rule) => app.Services.GetRequiredService<FaultInjector>().Add(rule);

    /// <summary>Removes every fault rule, like <c>DELETE /admin/faults</c>.</summary>
    public void ClearFaults() => app.Services.GetRequiredService<FaultInjector>().Clear();

    /// <summary>Stops the server and its run engine.</summary>
    public async ValueTask DisposeAsync()
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}
