using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;
using AgentJobs.ApiContract;
using Azure.Storage.Blobs;
using LocalAgentService;

namespace AgentFunctions.Tests.Support;

/// <summary>What a <see cref="FunctionsApp"/> runs with.</summary>
public sealed record FunctionsAppOptions
{
    /// <summary><c>classic</c> or <c>foundry</c> (setting <c>AgentService__Protocol</c>).</summary>
    public string Protocol { get; init; } = "classic";

    /// <summary>Whether function keys are checked (<c>func start --enableAuth</c>), as in Azure.</summary>
    public bool EnableAuth { get; init; } = true;

    /// <summary>How long the embedded agent service keeps each simulated run in progress.</summary>
    public int SimulatedRunMs { get; init; } = 50;

    /// <summary>Whether run reads carry <c>retry-after-ms</c> hints (the real services send none).</summary>
    public bool PollHints { get; init; } = true;

    /// <summary>More app settings (e.g. <c>AgentJobs__StreamWindowSeconds</c>).</summary>
    public IReadOnlyDictionary<string, string> Settings { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The Functions app as users run it: <c>func start</c> (a real Azure Functions host, <see cref="FuncCli"/>) on
/// Azurite, against the local agent service on 127.0.0.1, whose <c>contract-model</c> is a chat endpoint
/// (<see cref="FakeChatModel"/>) on which one prompt completes and another stays in progress until cancelled.
/// With <see cref="FunctionsAppOptions.EnableAuth"/> (the default) function keys are enforced, as in Azure, and
/// <see cref="SendAsync"/> sends the host's default function key, read from the host's secret store in Azurite.
/// </summary>
public class FunctionsApp : IAgentJobsMcpHost, IAsyncLifetime
{
    static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    readonly FunctionsAppOptions options;

    Azurite? azurite;
    FakeChatModel? model;
    LocalAgentServer? agentService;
    HttpClient? agentServiceHttp;
    HttpClient? http;

    /// <summary>The app with function keys enforced, classic protocol (the contract suites' host).</summary>
    public FunctionsApp()
        : this(new FunctionsAppOptions())
    {
    }

    /// <summary>The app with other options (a derived fixture, or a test's own app).</summary>
    protected FunctionsApp(FunctionsAppOptions options) => this.options = options;

    /// <summary>An app with these options, for a test that starts its own (dispose it).</summary>
    public static FunctionsApp With(FunctionsAppOptions options) => new(options);

    /// <summary>The running host.</summary>
    public FunctionsHostProcess Host { get; private set; } = null!;

    /// <summary>The host's default function key (null when keys are not enforced).</summary>
    public string? FunctionKey { get; private set; }

    /// <summary>The task hub this app's jobs live in (unique per app).</summary>
    public string TaskHub { get; } = "fx" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>The settings the host was started with.</summary>
    public IReadOnlyDictionary<string, string> Settings { get; private set; } = new Dictionary<string, string>();

    public int MaxPromptLength => 32_000;

    public string McpPath => "api/mcp";

    public string CompletingPrompt => "Hello, tell me a joke";

    public string LongRunningPrompt => FakeChatModel.SlowMarker + " think about it for a long time";

    public string ConfiguredModel => "contract-model";

    /// <summary>The agent service behind the app (faults, stats).</summary>
    public LocalAgentServer AgentService => agentService ?? throw new InvalidOperationException("Not started.");

    /// <summary>Azurite's connection string.</summary>
    public string StorageConnectionString => azurite?.ConnectionString ?? throw new InvalidOperationException("Not started.");

    public async ValueTask InitializeAsync()
    {
        var token = TestContext.Current.CancellationToken;
        azurite = await Azurite.StartAsync(token) ?? throw new InvalidOperationException(Azurite.UnavailableReason);
        model = await FakeChatModel.StartAsync();
        var serverOptions = new LocalAgentServerOptions
        {
            ApiKey = "local-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            Simulation = { QueuedMs = 20, InProgressMs = options.SimulatedRunMs, PollHints = options.PollHints },
        };
        serverOptions.Models[ConfiguredModel] = new ModelEndpointOptions { Kind = ModelKinds.OpenAICompatible, Endpoint = model.Endpoint, ApiKey = "fake" };
        agentService = await LocalAgentServer.StartAsync(serverOptions, token);
        agentServiceHttp = new HttpClient { BaseAddress = new Uri(agentService.OpenAIEndpoint + "/") };
        agentServiceHttp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", agentService.ApiKey);

        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["FUNCTIONS_WORKER_RUNTIME"] = "dotnet-isolated",
            ["TaskHubName"] = TaskHub,
            ["AgentService__Protocol"] = options.Protocol,
            ["AgentService__Endpoint"] = options.Protocol == "foundry" ? agentService.ProjectEndpoint.ToString() : agentService.OpenAIEndpoint.ToString(),
            ["AgentService__ApiKey"] = agentService.ApiKey!,
            ["AgentService__Model"] = ConfiguredModel,
            ["AgentJobs__MaxPromptLength"] = MaxPromptLength.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (name, value) in options.Settings)
        {
            settings[name] = value;
        }

        Settings = settings;
        await StartHostAsync(token);
    }

    /// <summary>Starts the host (again, after <see cref="FunctionsHostProcess.KillAsync"/>) on a new port and waits until the app serves.</summary>
    public async Task StartHostAsync(CancellationToken cancellationToken)
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        // A free port can be taken by another process (other test assemblies' hosts run at the same time) before the
        // host binds it; such a start is tried again on another port, a few times.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                Host = await FunctionsHostProcess.StartAsync(LocalCli.FreePort(), Settings, options.EnableAuth, StartTimeout, cancellationToken);
                break;
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("already in use", StringComparison.Ordinal))
            {
            }
        }

        http?.Dispose();
        http = new HttpClient { BaseAddress = Host.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        if (options.EnableAuth)
        {
            FunctionKey = await ReadDefaultFunctionKeyAsync(cancellationToken);
        }

        await WaitUntilServingAsync(cancellationToken);
    }

    /// <summary>The host's default function key, from its secret store (the Azurite container azure-webjobs-secrets).</summary>
    async Task<string> ReadDefaultFunctionKeyAsync(CancellationToken cancellationToken)
    {
        var container = new BlobContainerClient(StorageConnectionString, "azure-webjobs-secrets");
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (await container.ExistsAsync(cancellationToken))
            {
                await foreach (var blob in container.GetBlobsAsync(cancellationToken: cancellationToken))
                {
                    if (blob.Name.EndsWith("/host.json", StringComparison.Ordinal))
                    {
                        var content = await container.GetBlobClient(blob.Name).DownloadContentAsync(cancellationToken);
                        using var secrets = JsonDocument.Parse(content.Value.Content.ToString());
                        var key = secrets.RootElement.GetProperty("functionKeys").EnumerateArray()
                            .FirstOrDefault(k => k.GetProperty("name").GetString() == "default");
                        if (key.ValueKind == JsonValueKind.Object && !key.GetProperty("encrypted").GetBoolean())
                        {
                            return key.GetProperty("value").GetString()!;
                        }
                    }
                }
            }

            if (DateTime.UtcNow > deadline || !Host.IsRunning)
            {
                throw new InvalidOperationException($"The host wrote no default function key to Azurite. Output:\n{Host.Tail()}");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>Waits until the worker has loaded the app's functions: the job list answers 200.</summary>
    async Task WaitUntilServingAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        HttpStatusCode? last = null;
        while (DateTime.UtcNow < deadline && Host.IsRunning)
        {
            try
            {
                using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, "api/agent-jobs?top=1"), cancellationToken);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = response.StatusCode;
            }
            catch (HttpRequestException)
            {
                // Restarting.
            }

            await Task.Delay(250, cancellationToken);
        }

        throw new InvalidOperationException($"The app did not serve GET /api/agent-jobs (last status {last?.ToString() ?? "none"}). Output:\n{Host.Tail()}");
    }

    /// <summary>
    /// Sends a request with the function key in <c>x-functions-key</c> (unless it has that header already; the host
    /// reads the header before a <c>code</c> query parameter).
    /// </summary>
    public Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (FunctionKey is not null && !request.Headers.Contains("x-functions-key"))
        {
            request.Headers.Add("x-functions-key", FunctionKey);
        }

        return SendWithoutKeyAsync(request, cancellationToken);
    }

    /// <summary>Sends a request as it is, with no key added.</summary>
    public Task<HttpResponseMessage> SendWithoutKeyAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        (http ?? throw new InvalidOperationException("Not started.")).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);

    public async Task<string?> AgentModelAsync(string agentId, CancellationToken cancellationToken)
    {
        using var response = await agentServiceHttp!.GetAsync($"assistants/{Uri.EscapeDataString(agentId)}", cancellationToken);
        response.EnsureSuccessStatusCode();
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return doc.RootElement.GetProperty("model").GetString();
    }

    public async Task<bool> AgentExistsAsync(string agentId, CancellationToken cancellationToken)
    {
        using var response = await agentServiceHttp!.GetAsync($"assistants/{Uri.EscapeDataString(agentId)}", cancellationToken);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false,
            var other => throw new HttpRequestException($"GET assistants/{agentId} answered {other}."),
        };
    }

    /// <summary>The host's whole log, kept beside the test results (TestResults/functions-host-{task hub}.log) to read after a failure.</summary>
    void SaveHostLog()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestResults", $"functions-host-{TaskHub}.log");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, Host.Output);
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        http?.Dispose();
        agentServiceHttp?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
            SaveHostLog();
        }

        if (agentService is not null)
        {
            await agentService.DisposeAsync();
        }

        if (model is not null)
        {
            await model.DisposeAsync();
        }

        if (azurite is not null)
        {
            await azurite.DisposeAsync();
        }
    }
}
