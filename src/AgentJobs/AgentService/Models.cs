using System.Text.Json.Serialization;
using AgentJobs.Contracts;

namespace AgentJobs.AgentService;

/// <summary>What an agent is made of.</summary>
/// <param name="Name">Display name (protocols that address agents by name make it unique per job).</param>
/// <param name="Model">Model deployment.</param>
/// <param name="Instructions">Instructions.</param>
/// <param name="Tools">Function tools the agent may call.</param>
/// <param name="Metadata">Metadata stored with the agent (the job id, so leaks can be traced).</param>
public sealed record AgentDefinition(
    string Name,
    string Model,
    string Instructions,
    IReadOnlyList<FunctionToolSpec> Tools,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>A function tool as the service sees it.</summary>
/// <param name="Name">Function name.</param>
/// <param name="Description">What it does, for the model.</param>
/// <param name="ParametersSchema">JSON schema of its arguments, as JSON text.</param>
public sealed record FunctionToolSpec(string Name, string Description, string ParametersSchema);

/// <summary>An agent the service created.</summary>
/// <param name="Id">The service's id (assistant id, or agent name for versioned agents).</param>
/// <param name="Name">The agent's name.</param>
/// <param name="Version">The version, for versioned agents.</param>
public sealed record AgentRef(string Id, string Name, string? Version = null);

/// <summary>Addresses a run.</summary>
/// <param name="ThreadId">The thread (conversation).</param>
/// <param name="RunId">The run (response).</param>
public sealed record RunRef(string ThreadId, string RunId);

/// <summary>A run as last read from the service, normalised across protocols.</summary>
/// <param name="ThreadId">The thread.</param>
/// <param name="RunId">The run.</param>
/// <param name="Status">The normalised status.</param>
/// <param name="RawStatus">The service's own word for it.</param>
/// <param name="ToolCalls">Pending tool calls when <see cref="Status"/> is <see cref="AgentRunStatus.RequiresAction"/>.</param>
/// <param name="Error">The service's error for a failed run.</param>
/// <param name="IncompleteReason">Why an incomplete run stopped.</param>
/// <param name="Usage">Token usage, when reported.</param>
/// <param name="PollAfterMs">The service's hint for when to poll next, when it sent one.</param>
/// <param name="StreamedMs">How long, in milliseconds, the call that returned this state followed the run's stream
/// (stream-first waiting), as measured by the activity that made it; null for a state that was not read through a
/// stream window (a poll, a cancel). Polling that takes over resumes a polled run's schedule from it.</param>
public sealed record RunState(
    string ThreadId,
    string RunId,
    AgentRunStatus Status,
    string RawStatus,
    IReadOnlyList<ToolCallRequest> ToolCalls,
    JobFailure? Error = null,
    string? IncompleteReason = null,
    TokenUsage? Usage = null,
    int? PollAfterMs = null,
    double? StreamedMs = null)
{
    /// <summary>The reference to poll or cancel this run.</summary>
    [JsonIgnore]
    public RunRef Ref => new(ThreadId, RunId);

    /// <summary>Whether the run has ended.</summary>
    [JsonIgnore]
    public bool IsTerminal => Status.IsTerminal();

    /// <summary>Whether a wait for the run is over: it has ended, or it waits for tool outputs.</summary>
    [JsonIgnore]
    public bool IsSettled => IsTerminal || Status == AgentRunStatus.RequiresAction;
}

/// <summary>One function-tool call the agent asked for.</summary>
/// <param name="Id">Call id to answer.</param>
/// <param name="Name">Function name.</param>
/// <param name="Arguments">Arguments as JSON text.</param>
/// <param name="JobId">The job the call belongs to; set by the orchestrator from its instance id (services never send
/// it), it makes the call's <see cref="Tools.ToolCallContext.IdempotencyKey"/>.</param>
/// <param name="StopAtUtc">The job's deadline, set by the orchestrator: the tool is abandoned then, whatever it is doing.</param>
public sealed record ToolCallRequest(string Id, string Name, string Arguments, string? JobId = null, DateTime? StopAtUtc = null);

/// <summary>The answer to one tool call.</summary>
/// <param name="ToolCallId">The call answered.</param>
/// <param name="Output">The output text (JSON for structured results and errors).</param>
/// <param name="IsError">Whether the tool was unknown or failed; the agent still gets an output.</param>
public sealed record ToolOutput(string ToolCallId, string Output, bool IsError = false)
{
    /// <summary>
    /// The error output that closes a call the job will not run because it is stopping, so the thread stays fit
    /// to continue: <c>{"error":"job_stopped","message":"…"}</c>.
    /// </summary>
    public static ToolOutput NotRun(string toolCallId, string reason) => new(
        toolCallId,
        System.Text.Json.JsonSerializer.Serialize(new { error = "job_stopped", message = $"The tool was not run: {reason}" }),
        IsError: true);
}

/// <summary>Run statuses across protocols.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AgentRunStatus>))]
public enum AgentRunStatus
{
    /// <summary>Accepted, not started.</summary>
    Queued,

    /// <summary>Running.</summary>
    InProgress,

    /// <summary>Waiting for tool outputs.</summary>
    RequiresAction,

    /// <summary>Cancel requested, not yet done.</summary>
    Cancelling,

    /// <summary>Finished with a reply.</summary>
    Completed,

    /// <summary>Failed; see the error.</summary>
    Failed,

    /// <summary>Cancelled.</summary>
    Cancelled,

    /// <summary>Expired before it finished.</summary>
    Expired,

    /// <summary>Stopped early (token limits, content filter).</summary>
    Incomplete,

    /// <summary>A status this version does not know; treated as terminal so a job never polls forever.</summary>
    Unknown,
}

/// <summary>Helpers on <see cref="AgentRunStatus"/>.</summary>
public static class AgentRunStatusExtensions
{
    /// <summary>Whether the status ends the run.</summary>
    public static bool IsTerminal(this AgentRunStatus status) => status is
        AgentRunStatus.Completed or AgentRunStatus.Failed or AgentRunStatus.Cancelled or
        AgentRunStatus.Expired or AgentRunStatus.Incomplete or AgentRunStatus.Unknown;

    /// <summary>Maps a protocol's status word to the normalised status; unknown words map to Unknown.</summary>
    public static AgentRunStatus Parse(string? status) => status?.ToLowerInvariant() switch
    {
        "queued" => AgentRunStatus.Queued,
        "in_progress" => AgentRunStatus.InProgress,
        "requires_action" => AgentRunStatus.RequiresAction,
        "cancelling" => AgentRunStatus.Cancelling,
        "completed" => AgentRunStatus.Completed,
        "failed" => AgentRunStatus.Failed,
        "cancelled" => AgentRunStatus.Cancelled,
        "expired" => AgentRunStatus.Expired,
        "incomplete" => AgentRunStatus.Incomplete,
        _ => AgentRunStatus.Unknown,
    };
}
