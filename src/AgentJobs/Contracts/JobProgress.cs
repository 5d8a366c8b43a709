using System.Text.Json.Serialization;

namespace AgentJobs.Contracts;

/// <summary>
/// The orchestration's custom status: where the job is now. Updated at each phase and, through the poller,
/// at each poll.
/// </summary>
/// <param name="Phase">The current phase.</param>
/// <param name="RunStatus">The last run status seen.</param>
/// <param name="Polls">Polls so far.</param>
/// <param name="PendingToolCalls">Names of the tool calls being executed now.</param>
/// <param name="ElapsedSeconds">Orchestration time since the job started.</param>
/// <param name="AgentId">The agent, once created.</param>
/// <param name="ThreadId">The thread, once known.</param>
/// <param name="RunId">The current run.</param>
/// <param name="PollerInstanceId">The poller sub-orchestration running now, if any (its status has live poll counts).</param>
/// <param name="PendingApprovals">In <see cref="JobPhase.AwaitingApproval"/>: the calls still waiting for a decision.</param>
/// <param name="DecidedCallIds">The calls of the current tool round already decided (a second decision is refused).</param>
public sealed record JobProgress(
    JobPhase Phase,
    string? RunStatus = null,
    int Polls = 0,
    IReadOnlyList<string>? PendingToolCalls = null,
    double ElapsedSeconds = 0,
    string? AgentId = null,
    string? ThreadId = null,
    string? RunId = null,
    string? PollerInstanceId = null,
    IReadOnlyList<PendingApproval>? PendingApprovals = null,
    IReadOnlyList<string>? DecidedCallIds = null);

/// <summary>The poller's own custom status: the live part of <see cref="JobProgress"/>.</summary>
/// <param name="RunStatus">The last run status seen.</param>
/// <param name="Polls">Polls so far in this job (not just this poller).</param>
public sealed record PollerProgress(string? RunStatus, int Polls);

/// <summary>The phases of a job, in order.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobPhase>))]
public enum JobPhase
{
    /// <summary>Scheduled, not yet started.</summary>
    Starting,

    /// <summary>Creating the agent.</summary>
    CreatingAgent,

    /// <summary>Creating the thread.</summary>
    CreatingThread,

    /// <summary>Adding the user message and starting the run.</summary>
    StartingRun,

    /// <summary>Waiting for the run, polling with durable timers.</summary>
    Polling,

    /// <summary>Executing the agent's function-tool calls.</summary>
    RunningTools,

    /// <summary>Tool calls wait for a person's approval (<c>POST /api/agent-jobs/{id}/approvals</c>).</summary>
    AwaitingApproval,

    /// <summary>Cancelling the run (caller's request or deadline).</summary>
    Cancelling,

    /// <summary>Reading messages and run steps.</summary>
    CollectingResults,

    /// <summary>Deleting the agent (and the thread when asked).</summary>
    CleaningUp,

    /// <summary>Finished.</summary>
    Done,
}
