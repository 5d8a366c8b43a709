using System.Text.Json.Serialization;

namespace AgentJobs.Contracts;

/// <summary>
/// What a caller asks for: one prompt run by one freshly created agent. Every field but
/// <see cref="Prompt"/> is optional; the edge (<see cref="Application.AgentJobPolicy.Settle"/>) fills the gaps from
/// configuration before the job is scheduled, into the <see cref="AgentJobSpec"/> the job runs with. This is the wire
/// DTO only; no orchestrator takes it.
/// </summary>
/// <param name="Prompt">The user message sent to the agent.</param>
/// <param name="Instructions">The agent's instructions (system prompt).</param>
/// <param name="Model">The model deployment the agent runs on.</param>
/// <param name="AgentName">A display name for the agent.</param>
/// <param name="Tools">Names of registered function tools the agent may call.</param>
/// <param name="ThreadId">An existing thread (conversation) to continue instead of creating one.</param>
/// <param name="DeleteThread">Delete the thread at the end; never applies to a thread the caller supplied.</param>
/// <param name="MaxDurationSeconds">After this long the run is cancelled and the job ends as timed out.</param>
/// <param name="Polling">How often the run is polled.</param>
/// <param name="CancelGraceSeconds">Once the job stops its run (cancel, deadline, failure), how long it waits for
/// the run to reach a terminal status before cleaning up anyway (default 60).</param>
/// <param name="MaxToolRounds">Budget: tool rounds (batches of tool calls answered) the run may ask for; one more
/// stops the job with <see cref="JobOutcome.BudgetExceeded"/> (default 16, at most <c>AgentJobs__MaxToolRoundsLimit</c>).</param>
/// <param name="MaxTotalTokens">Budget: total tokens (input + output, as the service reports them) the job's runs may
/// use; more stops the job with <see cref="JobOutcome.BudgetExceeded"/> (default none, or <c>AgentJobs__MaxTotalTokensLimit</c>
/// when that is set).</param>
/// <param name="Approval">Tool calls that wait for a person's approval before they run (default none).</param>
public sealed record AgentJobRequest(
    string Prompt,
    string? Instructions = null,
    string? Model = null,
    string? AgentName = null,
    IReadOnlyList<string>? Tools = null,
    string? ThreadId = null,
    bool DeleteThread = false,
    int? MaxDurationSeconds = null,
    PollingSettings? Polling = null,
    int? CancelGraceSeconds = null,
    int? MaxToolRounds = null,
    long? MaxTotalTokens = null,
    ApprovalPolicy? Approval = null);

/// <summary>
/// How the run is polled: exponential backoff from <see cref="InitialDelayMs"/> to <see cref="MaxDelayMs"/>;
/// a poll-after hint sent by the service replaces the computed delay (kept between 25 ms and 5 minutes, so a
/// service cannot make the job spin or stall).
/// </summary>
/// <param name="InitialDelayMs">First wait after starting the run or submitting tool outputs.</param>
/// <param name="MaxDelayMs">The cap the backoff grows to.</param>
/// <param name="BackoffFactor">Growth of the delay per poll that sees no change.</param>
/// <param name="PollsPerGeneration">Polls before the poller continues as new, keeping its history bounded.</param>
/// <param name="StreamWindowSeconds">Stream-first waiting: the activity that starts the run (or submits tool outputs)
/// asks the service to stream the run's events and holds the stream this many seconds, returning the instant the run
/// ends or needs tool outputs; only a run still going after the window is polled with durable timers. 0 turns
/// streaming off. Null takes the host's default (<c>AgentJobs__StreamWindowSeconds</c>; see the README for why the
/// Functions app's default is shorter than the local host's).</param>
public sealed record PollingSettings(
    int InitialDelayMs = PollingSettings.DefaultInitialDelayMs,
    int MaxDelayMs = PollingSettings.DefaultMaxDelayMs,
    double BackoffFactor = PollingSettings.DefaultBackoffFactor,
    int PollsPerGeneration = PollingSettings.DefaultPollsPerGeneration,
    int? StreamWindowSeconds = null)
{
    /// <summary>Longest stream window a job may ask for, in seconds: well under the Functions HTTP and activity limits.</summary>
    public const int MaxStreamWindowSeconds = 120;

    /// <summary>The window that applies: <see cref="StreamWindowSeconds"/>, or none when it was never settled.</summary>
    [JsonIgnore]
    public TimeSpan StreamWindow => TimeSpan.FromSeconds(StreamWindowSeconds ?? 0);

    /// <summary>Default first delay: 1 s, as the quickstart polls.</summary>
    public const int DefaultInitialDelayMs = 1_000;

    /// <summary>Default cap: 15 s, so a long run costs few polls yet a finished one is seen soon.</summary>
    public const int DefaultMaxDelayMs = 15_000;

    /// <summary>Default growth per unchanged poll.</summary>
    public const double DefaultBackoffFactor = 1.5;

    /// <summary>Default polls per poller generation before continue-as-new.</summary>
    public const int DefaultPollsPerGeneration = 50;

    /// <summary>The defaults.</summary>
    public static PollingSettings Default { get; } = new();
}

/// <summary>The quickstart's defaults, which are ours too where configuration says nothing else.</summary>
public static class AgentJobDefaults
{
    /// <summary>Model deployment when <c>AgentService__Model</c> is not set.</summary>
    public const string Model = "gpt-4o-mini";

    /// <summary>Default agent name.</summary>
    public const string AgentName = "my-agent";

    /// <summary>Default instructions.</summary>
    public const string Instructions = "You are a helpful agent";

    /// <summary>Default maximum duration of a job: 10 minutes, the classic service's run expiry.</summary>
    public const int MaxDurationSeconds = 600;

    /// <summary>Default wait for a stopped run to end before cleanup goes ahead anyway, in seconds.</summary>
    public const int CancelGraceSeconds = 60;

    /// <summary>Default tool-round budget: enough for real multi-step tool use, few enough to stop a looping agent.</summary>
    public const int MaxToolRounds = 16;
}

/// <summary>How a job ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobOutcome>))]
public enum JobOutcome
{
    /// <summary>The run completed and produced a reply.</summary>
    Completed,

    /// <summary>The run failed, or the workflow could not talk to the service.</summary>
    Failed,

    /// <summary>The run was cancelled, by the caller or by the service.</summary>
    Cancelled,

    /// <summary>The run expired on the service (for example tool outputs came too late).</summary>
    Expired,

    /// <summary>The run stopped early (for example a token limit).</summary>
    Incomplete,

    /// <summary>The job passed its maximum duration; the run was cancelled.</summary>
    TimedOut,

    /// <summary>The job went over a budget (<c>maxToolRounds</c>, <c>maxTotalTokens</c>); the run was cancelled.</summary>
    BudgetExceeded,
}
