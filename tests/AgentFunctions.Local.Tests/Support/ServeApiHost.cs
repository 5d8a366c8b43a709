using System.Net;
using System.Net.Http.Headers;
using AgentJobs.ApiContract;
using AgentJobs.Application;
using AgentJobs.Http;
using Microsoft.Extensions.DependencyInjection;

namespace AgentFunctions.Local.Tests.Support;

/// <summary>
/// The <c>serve</c> verb's host (<see cref="LocalHost.StartServeAsync"/>) over real HTTP on 127.0.0.1, with the
/// embedded agent service whose model is <see cref="FakeChatModel"/> (so one prompt completes and another keeps
/// its run in progress until cancelled).
/// </summary>
public sealed class ServeApiHost : IAgentJobsMcpHost, IAsyncLifetime
{
    FakeChatModel? model;
    LocalHost? host;
    HttpClient? http;
    HttpClient? agentService;

    public int MaxPromptLength { get; private set; }

    public string McpPath => LocalHost.McpPath;

    public string CompletingPrompt => "Hello, tell me a joke";

    public string LongRunningPrompt => FakeChatModel.SlowMarker + " think about it for a long time";

    public LocalHost Host => host ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync()
    {
        model = await FakeChatModel.StartAsync();
        var options = new LocalHostOptions { Urls = "http://127.0.0.1:0", SimulatedRunMs = 50, LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning };
        options.Settings["AgentService:Model"] = ConfiguredModel;
        options.Settings[$"LocalAgentService:Models:{ConfiguredModel}:Kind"] = "openai-compatible";
        options.Settings[$"LocalAgentService:Models:{ConfiguredModel}:Endpoint"] = model.Endpoint.ToString();
        options.Settings[$"LocalAgentService:Models:{ConfiguredModel}:ApiKey"] = "fake";
        host = await LocalHost.StartServeAsync(options);
        MaxPromptLength = host.Services.GetRequiredService<AgentJobsApiOptions>().MaxPromptLength;
        http = new HttpClient { BaseAddress = host.Urls[0] };
        var embedded = host.EmbeddedAgentService!;
        agentService = new HttpClient { BaseAddress = new Uri(embedded.OpenAIEndpoint + "/") };
        agentService.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", embedded.ApiKey);
    }

    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        (http ?? throw new InvalidOperationException("Not started.")).SendAsync(request, cancellationToken);

    public string ConfiguredModel => "contract-model";

    public async Task<string?> AgentModelAsync(string agentId, CancellationToken cancellationToken)
    {
        using var response = await agentService!.GetAsync($"assistants/{Uri.EscapeDataString(agentId)}", cancellationToken);
        response.EnsureSuccessStatusCode();
        using var doc = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return doc.RootElement.GetProperty("model").GetString();
    }

    public async Task<bool> AgentExistsAsync(string agentId, CancellationToken cancellationToken)
    {
        using var response = await agentService!.GetAsync($"assistants/{Uri.EscapeDataString(agentId)}", cancellationToken);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            var other => throw new HttpRequestException($"GET assistants/{agentId} answered {other}."),
        };
    }

    public async ValueTask DisposeAsync()
    {
        http?.Dispose();
        agentService?.Dispose();
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        if (model is not null)
        {
            await model.DisposeAsync();
        }
    }
}
