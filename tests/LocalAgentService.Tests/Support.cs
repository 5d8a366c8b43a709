using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI;
using OpenAI.Assistants;

namespace LocalAgentService.Tests;

/// <summary>The three route shapes the service answers on.</summary>
public enum Shape { OpenAI, Azure, Project }

/// <summary>Servers with fast simulated timings, and SDK/HTTP clients for each route shape.</summary>
internal static class Support
{
    public const string Key = "test-key";

    public static LocalAgentServerOptions FastOptions(Action<LocalAgentServerOptions>? configure = null)
    {
        var options = new LocalAgentServerOptions
        {
            Simulation = { QueuedMs = 20, InProgressMs = 30, CancellingMs = 20, ExpirySweepMs = 20, PollHintMs = 50 },
        };
        configure?.Invoke(options);
        return options;
    }

    public static Task<LocalAgentServer> StartFastAsync(Action<LocalAgentServerOptions>? configure = null) =>
        LocalAgentServer.StartAsync(FastOptions(configure));

    /// <summary>
    /// OpenAI shape: the plain SDK on /v1. Azure shape: Azure.AI.OpenAI 2.1.0 (GA) throws from GetAssistantClient
    /// ("preview Assistants feature area is not available"), so the same AssistantClient drives /openai with an
    /// api-version policy and the Azure-style <c>api-key</c> header. Project shape: {root}/api/projects/local + api-version=v1.
    /// </summary>
    public static AssistantClient Client(LocalAgentServer server, Shape shape, string key = Key, params PipelinePolicy[] extra)
    {
        var options = new OpenAIClientOptions { NetworkTimeout = TimeSpan.FromSeconds(30) };
        switch (shape)
        {
            case Shape.OpenAI:
                options.Endpoint = server.OpenAIEndpoint;
                break;
            case Shape.Azure:
                options.Endpoint = new Uri(server.BaseAddress, "openai");
                options.AddPolicy(RequestEditPolicy.QueryAndHeader("api-version", "2024-10-01-preview", "api-key", key), PipelinePosition.PerCall);
                break;
            case Shape.Project:
                options.Endpoint = server.ProjectEndpoint;
                options.AddPolicy(RequestEditPolicy.QueryAndHeader("api-version", "v1"), PipelinePosition.PerCall);
                break;
        }

        foreach (var policy in extra)
        {
            options.AddPolicy(policy, PipelinePosition.PerCall);
        }

        return new OpenAIClient(new ApiKeyCredential(key), options).GetAssistantClient();
    }

    public static HttpClient Http(LocalAgentServer server) => new() { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Polls until the run leaves queued/in_progress/cancelling (bounded deadline).</summary>
    public static async Task<ThreadRun> WaitAsync(AssistantClient client, ThreadRun run, params string[] until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            run = await client.GetRunAsync(run.ThreadId, run.Id);
            bool done = until.Length > 0
                ? until.Contains(run.Status.ToString())
                : run.Status.IsTerminal || run.Status == RunStatus.RequiresAction;
            if (done)
            {
                return run;
            }

            Assert.True(DateTime.UtcNow < deadline, $"run {run.Id} stuck in {run.Status}");
            await Task.Delay(15);
        }
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    public static async Task<(int Status, JsonElement Body, HttpResponseMessage Response)> SendAsync(HttpClient http, HttpMethod method, string path, object? body = null, string? rawBody = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (rawBody is not null)
        {
            request.Content = new StringContent(rawBody, System.Text.Encoding.UTF8, "application/json");
        }
        else if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }

        var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        var json = text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
        return ((int)response.StatusCode, json, response);
    }

    public static Task<(int Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(HttpClient http, string path, object body) =>
        SendAsync(http, HttpMethod.Post, path, body);

    public static Task<(int Status, JsonElement Body, HttpResponseMessage Response)> GetAsync(HttpClient http, string path) =>
        SendAsync(http, HttpMethod.Get, path);

    public static FunctionToolDefinition Function(string name, string parameters = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""") =>
        new(name) { Description = $"The {name} tool", Parameters = BinaryData.FromString(parameters) };

    public static void AssertError(int expectedStatus, (int Status, JsonElement Body, HttpResponseMessage Response) result, string? param = null)
    {
        Assert.Equal(expectedStatus, result.Status);
        var error = result.Body.GetProperty("error");
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out var p));
        Assert.True(error.TryGetProperty("code", out _));
        if (param is not null)
        {
            Assert.Equal(param, p.GetString());
        }
    }
}

/// <summary>Edits every request before it is sent (adds api-version, auth or fault headers).</summary>
internal sealed class RequestEditPolicy(Action<PipelineRequest> edit) : PipelinePolicy
{
    /// <summary>Adds <paramref name="query"/> when absent, and optionally a header.</summary>
    public static RequestEditPolicy QueryAndHeader(string query, string value, string? header = null, string? headerValue = null) => new(request =>
    {
        var uri = request.Uri!;
        if (!uri.Query.Contains(query + "=", StringComparison.Ordinal))
        {
            request.Uri = new Uri(uri + (uri.Query.Length == 0 ? "?" : "&") + query + "=" + Uri.EscapeDataString(value));
        }

        if (header is not null)
        {
            request.Headers.Set(header, headerValue ?? "");
        }
    });

    /// <summary>Sets fixed headers (used to send x-local-fault through the SDK).</summary>
    public static RequestEditPolicy Headers(params (string Name, string Value)[] headers) => new(request =>
    {
        foreach (var (name, value) in headers)
        {
            request.Headers.Set(name, value);
        }
    });

    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        edit(message.Request);
        ProcessNext(message, pipeline, currentIndex);
    }

    public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        edit(message.Request);
        return ProcessNextAsync(message, pipeline, currentIndex);
    }
}
