using System.Globalization;
using System.Security.Cryptography;
using AgentJobs;
using AgentJobs.AgentService;
using AgentJobs.Application;
using AgentJobs.Batches;
using AgentJobs.Configuration;
using AgentJobs.Dashboard;
using AgentJobs.Hosting;
using AgentJobs.Http;
using AgentJobs.Mcp;
using AgentJobs.Retention;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace AgentFunctions.Local;

/// <summary>
/// The local host: the portable workflow on an embedded durable backend, talking to the embedded local agent
/// service unless a real one is configured, optionally serving the HTTP API with the same handlers as the
/// Functions app. Configuration: <c>appsettings.json</c> in the working directory, environment variables
/// (<c>AgentService__Endpoint</c> …, as in local.settings.json), then <see cref="LocalHostOptions"/>.
/// </summary>
public sealed class LocalHost : IAsyncDisposable
{
    /// <summary>Configuration key of the Azure Storage connection string (environment: <c>Durable__Storage</c>).</summary>
    public const string StorageSetting = "Durable:Storage";

    /// <summary>Configuration key of the task hub name (environment: <c>Durable__TaskHub</c>).</summary>
    public const string TaskHubSetting = "Durable:TaskHub";

    /// <summary>Configuration key of this process's worker id on the task hub (environment: <c>Durable__WorkerId</c>).</summary>
    public const string WorkerIdSetting = "Durable:WorkerId";

    /// <summary>Configuration key of the partition lease in seconds (environment: <c>Durable__PartitionLeaseSeconds</c>).</summary>
    public const string PartitionLeaseSetting = "Durable:PartitionLeaseSeconds";

    /// <summary>How often an event stream reads the delta log of a call that is streaming text, on the in-memory backend.</summary>
    public const int InMemoryDeltaPollMilliseconds = 20;

    /// <summary>Configuration section of the embedded agent service (<see cref="LocalAgentServerOptions"/>, e.g. <c>LocalAgentService__Simulation__InProgressMs</c>).</summary>
    public const string EmbeddedServiceSection = "LocalAgentService";

    /// <summary>Where <c>serve</c> serves the agent-jobs MCP server (Streamable HTTP), from the root rather than under <c>/api</c>.</summary>
    public const string McpPath = AgentJobsRoutes.Mcp;

    /// <summary>Configuration key of the key <c>serve</c> requires from callers (environment: <c>AgentJobs__ServeKey</c>).</summary>
    public const string ServeKeySetting = ServeKey.Setting;

    /// <summary>Configuration key of the default stream window of jobs (environment: <c>AgentJobs__StreamWindowSeconds</c>).</summary>
    public const string StreamWindowSetting = "AgentJobs:StreamWindowSeconds";

    /// <summary>The local host's default stream window, in seconds: longer than the Functions app's, since holding an activity costs nothing here.</summary>
    public const int LocalStreamWindowSeconds = 60;

    readonly IHost host;

    LocalHost(IHost host, LocalAgentServer? agentServer, AgentServiceEndpoint endpoint, DurableBackendOptions backend, IReadOnlyList<Uri> urls, bool keyRequired)
    {
        this.host = host;
        EmbeddedAgentService = agentServer;
        AgentService = endpoint;
        Backend = backend;
        Urls = urls;
        KeyRequired = keyRequired;
    }

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => host.Services;

    /// <summary>The durable client.</summary>
    public DurableTaskClient Client => host.Services.GetRequiredService<DurableTaskClient>();

    /// <summary>The embedded agent service, or null when a real one is configured.</summary>
    public LocalAgentServer? EmbeddedAgentService { get; }

    /// <summary>Where the workflow sends agent-service calls.</summary>
    public AgentServiceEndpoint AgentService { get; }

    /// <summary>The durable backend in use.</summary>
    public DurableBackendOptions Backend { get; }

    /// <summary>The addresses the HTTP API listens on (empty unless serving).</summary>
    public IReadOnlyList<Uri> Urls { get; }

    /// <summary>Whether the HTTP API asks every caller for the key set by <see cref="ServeKeySetting"/>.</summary>
    public bool KeyRequired { get; }

    /// <summary>Starts the workflow host without HTTP (the <c>run</c> and <c>bench</c> verbs).</summary>
    /// <exception cref="LocalHostException">A setting is missing or malformed; the message names it.</exception>
    public static Task<LocalHost> StartAsync(LocalHostOptions options, CancellationToken cancellationToken = default) =>
        StartCoreAsync(options, serve: false, cancellationToken);

    /// <summary>
    /// Starts the workflow host and serves the HTTP API on <see cref="LocalHostOptions.Urls"/> (the <c>serve</c> verb).
    /// With a key set (<see cref="ServeKeySetting"/>) every request must carry it; without one, only loopback
    /// addresses are allowed.
    /// </summary>
    /// <exception cref="LocalHostException">A setting is missing or malformed, or the API would listen beyond loopback without a key; the message names the setting.</exception>
    public static Task<LocalHost> StartServeAsync(LocalHostOptions options, CancellationToken cancellationToken = default) =>
        StartCoreAsync(options, serve: true, cancellationToken);

    static async Task<LocalHost> StartCoreAsync(LocalHostOptions options, bool serve, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        IHostApplicationBuilder builder = serve
            ? WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = Environment.CurrentDirectory })
            : Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { ContentRootPath = Environment.CurrentDirectory });
        var logGate = new StartupLogGate();
        ConfigureLogging(builder.Logging, options, logGate);
        builder.Configuration.AddInMemoryCollection(Overrides(options));
        if (builder.Configuration[StreamWindowSetting] is null)
        {
            // The local host pays nothing for a held activity, so it streams longer than the Functions app's default.
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [StreamWindowSetting] = LocalStreamWindowSeconds.ToString(CultureInfo.InvariantCulture) });
        }

        var serveKey = new ServeKey(builder.Configuration[ServeKey.Setting]);
        var urlList = options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (serve && !serveKey.IsSet && urlList.FirstOrDefault(url => !ServeKey.IsLoopback(url)) is { } exposed)
        {
            throw new LocalHostException(ServeKey.RefusalFor(exposed));
        }

        LocalAgentServer? agentServer = null;
        try
        {
            if (!RealServiceConfigured(builder.Configuration))
            {
                agentServer = await StartEmbeddedServiceAsync(builder.Configuration, options, cancellationToken).ConfigureAwait(false);

                // Classic jobs use the OpenAI route shape; the Foundry protocol lives on project endpoints only.
                var foundry = string.Equals(
                    builder.Configuration[$"{AgentServiceOptions.SectionName}:{nameof(AgentServiceOptions.Protocol)}"],
                    AgentProtocols.Foundry,
                    StringComparison.OrdinalIgnoreCase);
                builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
                {
                    [$"{AgentServiceOptions.SectionName}:{nameof(AgentServiceOptions.Endpoint)}"] =
                        (foundry ? agentServer.ProjectEndpoint : agentServer.OpenAIEndpoint).ToString(),
                    [$"{AgentServiceOptions.SectionName}:{nameof(AgentServiceOptions.ApiKey)}"] = agentServer.ApiKey,
                    [$"{AgentServiceOptions.SectionName}:{nameof(AgentServiceOptions.ApiVersion)}"] = foundry ? null : "none",
                });
            }

            try
            {
                builder.Services.AddAgentJobs(builder.Configuration);
            }
            catch (AgentServiceConfigurationException ex)
            {
                throw new LocalHostException(ex.Message, ex);
            }

            LocalTelemetry.Configure(builder, options, serve); // --otlp-endpoint, run --trace
            var backend = options.Backend(builder.Configuration);
            builder.Services.AddDurableBackend(backend, registry => registry.AddAgentJobTasks());
            if (!backend.UsesStorage && builder.Configuration[$"{AgentJobsApiOptions.SectionName}:{nameof(AgentJobEventsOptions.EventStreamDeltaPollMilliseconds)}"] is null)
            {
                // In process, a read of the delta log costs nothing: watchers look for new text every 20 ms, not 50.
                builder.Services.PostConfigure<AgentJobEventsOptions>(o => o.EventStreamDeltaPollMilliseconds = InMemoryDeltaPollMilliseconds);
            }
            builder.Services.AddSingleton<AgentJobStatusReader>();
            builder.Services.AddRetentionLoop(); // purges finished jobs after AgentJobs__RetentionDays, both backends
            builder.Services.AddSingleton<IHostLifetime, CommandLineLifetime>();
            options.ConfigureServices?.Invoke(builder.Services);

            IHost host;
            if (builder is WebApplicationBuilder web)
            {
                web.WebHost.UseUrls(urlList);
                web.Services.AddAgentJobsMcpServer();
                ServePipeline.Configure(web, serveKey);
                var app = web.Build();
                ServePipeline.Use(app);
                // The same routes (AgentJobsRoutes) and handlers as the Functions app's triggers, mapped beside the handlers.
                app.MapAgentJobsApi();
                app.MapAgentSessionsApi();
                app.MapJobPurge();
                app.MapAgentBatchesApi();
                app.MapAgentJobsDashboard(); // the dashboard page at /, its files at /dashboard/
                app.MapMcp("/" + McpPath); // the same jobs as MCP tools (AgentJobs.Mcp), stateless Streamable HTTP
                host = app;
            }
            else
            {
                host = ((HostApplicationBuilder)builder).Build();
            }

            IReadOnlyList<string> addresses = [];
            var started = false;
            try
            {
                // The adapter is chosen lazily by the workflow library; resolve it now so a protocol without an
                // adapter stops the host at startup with the library's message, like a missing setting does.
                host.Services.GetRequiredService<IAgentService>();
                await host.StartAsync(cancellationToken).ConfigureAwait(false);
                started = true;
                if (serve)
                {
                    // Kestrel settings in appsettings.json can add endpoints --urls does not show: check what is bound.
                    addresses = [.. host.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses];
                    if (!serveKey.IsSet && addresses.FirstOrDefault(a => !ServeKey.IsLoopback(a)) is { } bound)
                    {
                        throw new LocalHostException(ServeKey.RefusalFor(bound));
                    }
                }

                logGate.Release(write: true);
            }
            catch (Exception ex)
            {
                // Without --verbose, the one-line error the caller prints is the whole story of a failed start.
                logGate.Release(write: options.Verbose);
                if (started)
                {
                    using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                    await host.StopAsync(stop.Token).ConfigureAwait(false);
                }

                host.Dispose();
                if (ex is AgentServiceConfigurationException)
                {
                    throw new LocalHostException(ex.Message, ex);
                }

                if (backend.UsesStorage && FindInChain<Azure.RequestFailedException>(ex) is not null)
                {
                    throw new LocalHostException(
                        $"the Azure Storage of --storage (or {StorageSetting.Replace(":", "__", StringComparison.Ordinal)}) cannot be used: {Terminal.Describe(ex)}", ex);
                }

                throw;
            }

            return new LocalHost(host, agentServer, host.Services.GetRequiredService<AgentServiceEndpoint>(), backend,
                [.. addresses.Select(a => new Uri(a))], serveKey.IsSet);
        }
        catch
        {
            if (agentServer is not null)
            {
                await agentServer.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    /// <summary>Waits until the host is asked to stop (Ctrl+C, SIGTERM) or <paramref name="cancellationToken"/> fires.</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => host.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops the host, then the embedded agent service.</summary>
    public async ValueTask DisposeAsync()
    {
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await host.StopAsync(stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Shutting down anyway.
            }
        }

        if (host is IAsyncDisposable asyncHost)
        {
            await asyncHost.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            host.Dispose();
        }

        if (EmbeddedAgentService is not null)
        {
            await EmbeddedAgentService.DisposeAsync().ConfigureAwait(false);
        }
    }

    static T? FindInChain<T>(Exception exception)
        where T : Exception
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }

            if (e is AggregateException { InnerExceptions: [var first, ..] })
            {
                return FindInChain<T>(first);
            }
        }

        return null;
    }

    static bool RealServiceConfigured(IConfiguration configuration) =>
        !string.IsNullOrWhiteSpace(configuration[$"{AgentServiceOptions.SectionName}:{nameof(AgentServiceOptions.Endpoint)}"]) ||
        !string.IsNullOrWhiteSpace(configuration[AgentServiceOptions.ConnectionStringSetting]);

    static async Task<LocalAgentServer> StartEmbeddedServiceAsync(IConfiguration configuration, LocalHostOptions options, CancellationToken cancellationToken)
    {
        var serverOptions = new LocalAgentServerOptions();
        configuration.GetSection(EmbeddedServiceSection).Bind(serverOptions);

        // Loopback only, but still keyed: the workflow proves it sends the key the way it would to a real service.
        serverOptions.ApiKey ??= "local-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        if (options.SimulatedRunMs is { } runMs)
        {
            serverOptions.Simulation.InProgressMs = runMs;
        }

        if (options.SimulatedTokensPerSecond is { } pace)
        {
            serverOptions.Simulation.TokensPerSecond = pace;
        }

        if (options.SimulatedFirstTokenMs is { } firstToken)
        {
            serverOptions.Simulation.FirstTokenMs = firstToken;
        }

        options.ConfigureAgentService?.Invoke(serverOptions);
        return await LocalAgentServer.StartAsync(serverOptions, cancellationToken).ConfigureAwait(false);
    }

    static Dictionary<string, string?> Overrides(LocalHostOptions options)
    {
        var values = new Dictionary<string, string?>(options.Settings, StringComparer.OrdinalIgnoreCase);
        Set($"{AgentServiceOptions.SectionName}:{nameof(AgentServiceOptions.Endpoint)}", options.Endpoint);
        Set($"{AgentServiceOptions.SectionName}:{nameof(AgentServiceOptions.ApiKey)}", options.ApiKey);
        Set($"{AgentServiceOptions.SectionName}:{nameof(AgentServiceOptions.Protocol)}", options.Protocol);
        return values;

        void Set(string key, string? value)
        {
            if (value is not null)
            {
                values[key] = value;
            }
        }
    }

    static void ConfigureLogging(ILoggingBuilder logging, LocalHostOptions options, StartupLogGate gate)
    {
        logging.ClearProviders();
        logging.SetMinimumLevel(options.LogLevel);
        logging.AddSimpleConsole(console =>
        {
            console.SingleLine = true;
            console.TimestampFormat = "HH:mm:ss ";
        });

        // The console provider, behind the gate that holds its output back until the host has started.
        logging.Services.RemoveAll<ILoggerProvider>();
        logging.Services.AddSingleton(sp => gate.Wrap(ActivatorUtilities.CreateInstance<ConsoleLoggerProvider>(sp)));
        if (options.LogToStandardError)
        {
            logging.Services.Configure<ConsoleLoggerOptions>(console => console.LogToStandardErrorThreshold = LogLevel.Trace);
        }

        // The SDK, the sidecar, the storage provider and the MCP server (a line per request) are chatty at
        // Information; our own categories are not.
        foreach (var category in new[] { "Microsoft", "DurableTask", "Grpc", "System.Net.Http", "Azure", "ModelContextProtocol" })
        {
            logging.AddFilter(category, level => level >= LogLevel.Warning && level >= options.LogLevel);
        }

        if (options.PrintsOutcomes && options.LogLevel > LogLevel.Information)
        {
            // The MCP client logs a server it cannot reach with a stack trace; the job's outcome already names it.
            foreach (var category in new[] { typeof(AgentJobOrchestrator).FullName!, typeof(AgentJobs.Sessions.AgentSessionOrchestrator).FullName!, "ModelContextProtocol.Client" })
            {
                logging.AddFilter(category, LogLevel.None);
            }
        }
    }
}

/// <summary>The local host cannot start: a setting is missing or malformed (the message names it).</summary>
public sealed class LocalHostException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LocalHostException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public LocalHostException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public LocalHostException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
