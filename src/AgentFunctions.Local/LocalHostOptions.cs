using AgentJobs.Hosting;
using LocalAgentService;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local;

/// <summary>How to start a <see cref="LocalHost"/>. Command-line options map onto these; null means "from configuration".</summary>
public sealed class LocalHostOptions
{
    /// <summary>The default address of <c>serve</c> (the Functions host's port, loopback only).</summary>
    public const string DefaultUrls = "http://127.0.0.1:7071";

    /// <summary>An Azure Storage connection string for the persistent backend (<c>--storage</c>); null for in-memory.</summary>
    public string? Storage { get; set; }

    /// <summary>The task hub name (<c>--task-hub</c>).</summary>
    public string? TaskHub { get; set; }

    /// <summary>
    /// This process's worker id on the task hub (<c>--worker-id</c>, <c>Durable__WorkerId</c>); null for the machine
    /// name. Several processes on one task hub each need their own.
    /// </summary>
    public string? WorkerId { get; set; }

    /// <summary>
    /// The partition lease in seconds (<c>--partition-lease</c>, <c>Durable__PartitionLeaseSeconds</c>); null for the
    /// provider's 30. A dead worker's partitions move to the others this long after its last renewal at most, plus a
    /// third of it.
    /// </summary>
    public int? PartitionLeaseSeconds { get; set; }

    /// <summary>A real agent service (<c>--endpoint</c>, same as <c>AgentService__Endpoint</c>); null starts the embedded one.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Its API key (<c>--api-key</c>, same as <c>AgentService__ApiKey</c>).</summary>
    public string? ApiKey { get; set; }

    /// <summary><c>classic</c> or <c>foundry</c> (<c>--protocol</c>, same as <c>AgentService__Protocol</c>).</summary>
    public string? Protocol { get; set; }

    /// <summary>How long a simulated run stays in progress, in ms (<c>--simulated-run-ms</c>); embedded service only.</summary>
    public int? SimulatedRunMs { get; set; }

    /// <summary>The pace of the simulated model's streamed text, tokens per second (<c>--simulated-tokens-per-second</c>); embedded service only.</summary>
    public double? SimulatedTokensPerSecond { get; set; }

    /// <summary>With a pace, the simulated model's first-token delay in ms (<c>--simulated-first-token-ms</c>); embedded service only.</summary>
    public int? SimulatedFirstTokenMs { get; set; }

    /// <summary>Where <c>serve</c> listens (<c>--urls</c>, semicolon-separated).</summary>
    public string Urls { get; set; } = DefaultUrls;

    /// <summary>The least severe log level written (to standard error for <c>run</c>).</summary>
    public LogLevel LogLevel { get; set; } = LogLevel.Warning;

    /// <summary>
    /// Show everything about a failed start (<c>--verbose</c>): the log output held back while starting, and the
    /// exception's stack trace after the one-line error. Without it, a failed start is one <c>error:</c> line.
    /// </summary>
    public bool Verbose { get; set; }

    /// <summary>
    /// The command prints each job's or session's outcome itself (<c>run</c>, <c>chat</c>), so the orchestrators' own
    /// outcome log lines (a failed job is logged as an error) and the MCP client's (a server it cannot reach, with a
    /// stack trace) are left out unless <see cref="LogLevel"/> is Information or lower (<c>--verbose</c>): a failed
    /// <c>run</c> ends with one <c>error:</c> line.
    /// </summary>
    public bool PrintsOutcomes { get; set; }

    /// <summary>Write logs to standard error (so standard output carries only the command's own output).</summary>
    public bool LogToStandardError { get; set; } = true;

    /// <summary>
    /// An OTLP endpoint to export traces and metrics to (<c>--otlp-endpoint</c>; the standard
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> works too), e.g. <c>http://localhost:4318</c>. OTLP/HTTP protobuf unless
    /// <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> says <c>grpc</c>.
    /// </summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>Keeps the host's spans in memory (<c>run --trace</c>); null records none unless OTLP is on.</summary>
    internal SpanCollector? Spans { get; set; }

    /// <summary>Adjusts the embedded agent service's options after configuration is applied (benchmarks, tests).</summary>
    public Action<LocalAgentServerOptions>? ConfigureAgentService { get; set; }

    /// <summary>Last word on the host's services (benchmarks, tests).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; set; }

    /// <summary>Extra configuration values (keys like <c>AgentService:Model</c>), applied over files and environment.</summary>
    public IDictionary<string, string?> Settings { get; } = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);

    internal DurableBackendOptions Backend(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        var backend = new DurableBackendOptions
        {
            StorageConnectionString = Storage ?? configuration[LocalHost.StorageSetting],
            TaskHub = TaskHub ?? configuration[LocalHost.TaskHubSetting] ?? DurableBackendOptions.DefaultTaskHub,
            WorkerId = WorkerId ?? configuration[LocalHost.WorkerIdSetting],
        };
        var lease = PartitionLeaseSeconds?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? configuration[LocalHost.PartitionLeaseSetting];
        if (lease is not null)
        {
            var minimum = (int)AzureStorageDurableBackend.MinPartitionLease.TotalSeconds;
            if (!int.TryParse(lease, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var seconds) || seconds < minimum)
            {
                throw new LocalHostException($"--partition-lease ({LocalHost.PartitionLeaseSetting}): '{lease}' is not a whole number of seconds of at least {minimum}.");
            }

            backend.PartitionLease = TimeSpan.FromSeconds(seconds);
        }

        // Both only mean something to the Azure Storage provider's partition table; say so rather than ignore them.
        if (!backend.UsesStorage && (backend.WorkerId is not null || backend.PartitionLease is not null))
        {
            throw new LocalHostException("--worker-id and --partition-lease apply to the Azure Storage backend only; add --storage.");
        }

        if (backend.WorkerId is { } id && string.IsNullOrWhiteSpace(id))
        {
            throw new LocalHostException($"--worker-id ({LocalHost.WorkerIdSetting}): must not be empty.");
        }

        return backend;
    }
}
