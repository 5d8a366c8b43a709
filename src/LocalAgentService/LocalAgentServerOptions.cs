namespace LocalAgentService;

/// <summary>Settings for a <see cref="LocalAgentServer"/> (embedded) or the standalone service (bound from configuration).</summary>
public sealed class LocalAgentServerOptions
{
    /// <summary>When set, every request must carry it as an <c>api-key</c> header or <c>Authorization: Bearer</c>; otherwise 401.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Loopback port for the embedded server; 0 (the default) picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Largest accepted request body in bytes (Kestrel limit); larger bodies get 413.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>Run timing of the simulated engine.</summary>
    public SimulationOptions Simulation { get; set; } = new();

    /// <summary>Per assistant model name (case-insensitive): which backend answers. Names not listed use the simulated model.</summary>
    public IDictionary<string, ModelEndpointOptions> Models { get; } = new Dictionary<string, ModelEndpointOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Faults active from start-up (same rules as <c>POST /admin/faults</c>).</summary>
    public IList<FaultRule> Faults { get; } = new List<FaultRule>();
}

/// <summary>How long a run spends in each state, and the run expiry window.</summary>
public sealed class SimulationOptions
{
    /// <summary>Time a run stays <c>queued</c> before the engine picks it up.</summary>
    public int QueuedMs { get; set; } = 100;

    /// <summary>Time a run stays <c>in_progress</c> before the model answer is applied.</summary>
    public int InProgressMs { get; set; } = 400;

    /// <summary>Time a run stays <c>cancelling</c> before it becomes <c>cancelled</c>.</summary>
    public int CancellingMs { get; set; } = 50;

    /// <summary>A run not terminal this long after creation becomes <c>expired</c> (the real service uses 10 minutes).</summary>
    public int ExpiresAfterMs { get; set; } = 600_000;

    /// <summary>How often the engine looks for runs past <c>expires_at</c>.</summary>
    public int ExpirySweepMs { get; set; } = 50;

    /// <summary>The <c>retry-after-ms</c> poll hint when no engine transition is scheduled (e.g. <c>requires_action</c>).</summary>
    public int PollHintMs { get; set; } = 250;

    /// <summary>
    /// Whether run and response reads carry the <c>retry-after-ms</c> poll hint (default true). False behaves like the
    /// real services, which send no hint. Injected 429 faults send their retry hints either way.
    /// </summary>
    public bool PollHints { get; set; } = true;

    /// <summary>
    /// The pace at which streams spell the model's text, in tokens (words) per second; 0 (default) sends it at once, in
    /// a few pieces, as soon as the run ends. Paced, the run's end is streamed after its last word.
    /// </summary>
    public double TokensPerSecond { get; set; }

    /// <summary>With a pace, how long a stream waits before the first word, in ms (default 0).</summary>
    public int FirstTokenMs { get; set; }

    /// <summary>
    /// Called as a stream sends a piece of text (the message or output item id, the piece), once per piece however many
    /// clients read it: measurements of how long text takes to reach a watcher start here. Null: nothing is called.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public Action<string, string>? TextSent { get; set; }
}

/// <summary>The backend for one assistant model name.</summary>
public sealed class ModelEndpointOptions
{
    /// <summary><c>simulated</c> (default, deterministic, no network) or <c>openai-compatible</c> (a chat-completions endpoint).</summary>
    public string Kind { get; set; } = ModelKinds.Simulated;

    /// <summary>Chat-completions base URL for <c>openai-compatible</c>, e.g. <c>http://127.0.0.1:11434/v1</c> (Ollama).</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Key for the upstream endpoint; local servers usually accept any value.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Model name sent upstream; defaults to the assistant's model name.</summary>
    public string? UpstreamModel { get; set; }
}

/// <summary>Known values of <see cref="ModelEndpointOptions.Kind"/>.</summary>
public static class ModelKinds
{
    /// <summary>The deterministic built-in model.</summary>
    public const string Simulated = "simulated";

    /// <summary>A real LLM behind any OpenAI-compatible chat-completions endpoint.</summary>
    public const string OpenAICompatible = "openai-compatible";
}

/// <summary>A fault to inject into matching requests (see README: fault injection).</summary>
public sealed class FaultRule
{
    /// <summary>Operation name such as <c>get-run</c> or <c>create-run</c>; null or <c>*</c> matches every protocol operation.</summary>
    public string? Operation { get; set; }

    /// <summary><c>429</c>, <c>500</c> (any 4xx/5xx status), <c>drop</c>, <c>drop-stream</c>, <c>run-fail</c> or <c>run-expire</c>.</summary>
    public string Mode { get; set; } = "500";

    /// <summary>How many matching requests to fault; null means until cleared.</summary>
    public int? Count { get; set; }

    /// <summary>Retry hint sent with 429 (<c>Retry-After</c> and <c>retry-after-ms</c>); default 200 ms.</summary>
    public int? RetryAfterMs { get; set; }
}
