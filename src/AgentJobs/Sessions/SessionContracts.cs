using AgentJobs.AgentService;
using AgentJobs.Contracts;

namespace AgentJobs.Sessions;

/// <summary>
/// <c>POST /api/agent-sessions</c>: a long-lived conversation with one agent, driven turn by turn. Every field is
/// optional; the agent's fields and budgets mean what they mean on a job (<see cref="AgentJobRequest"/>).
/// </summary>
/// <param name="Instructions">The agent's instructions.</param>
/// <param name="Model">The model deployment (default: the configured one).</param>
/// <param name="AgentName">The agent's display name.</param>
/// <param name="Tools">Function tools the agent may call.</param>
/// <param name="Approval">Tool calls that wait for a person's approval, in every turn.</param>
/// <param name="IdleTimeoutSeconds">With no turn for this long, the session ends itself and deletes its agent
/// (default 3600, at most <c>AgentJobs__MaxSessionIdleSeconds</c>, default 86400).</param>
/// <param name="ThreadId">Adopt an existing thread (conversation); an adopted thread is never deleted.</param>
/// <param name="KeepThread">Keep the thread the session created when it ends (default: delete it).</param>
/// <param name="MaxToolRounds">Budget per turn: tool rounds (default 16).</param>
/// <param name="MaxTotalTokens">Budget per turn: total tokens.</param>
/// <param name="Polling">How each turn's run is polled.</param>
public sealed record AgentSessionRequest(
    string? Instructions = null,
    string? Model = null,
    string? AgentName = null,
    IReadOnlyList<string>? Tools = null,
    ApprovalPolicy? Approval = null,
    int? IdleTimeoutSeconds = null,
    string? ThreadId = null,
    bool KeepThread = false,
    int? MaxToolRounds = null,
    long? MaxTotalTokens = null,
    PollingSettings? Polling = null)
{
    /// <summary>Default idle timeout: one hour.</summary>
    public const int DefaultIdleTimeoutSeconds = 3600;
}

/// <summary><c>POST /api/agent-sessions/{id}/turns</c>: one user message.</summary>
/// <param name="Prompt">The message.</param>
/// <param name="MaxDurationSeconds">The turn's deadline (default 600).</param>
/// <param name="OnBusy">What to do when a turn runs: <c>queue</c> (default: run after it and the turns queued before),
/// <c>interrupt</c> (cancel it, its tool calls answered so the thread stays usable, and run this one next), <c>reject</c>
/// (409, nothing queued).</param>
public sealed record SessionTurnRequest(string Prompt, int? MaxDurationSeconds = null, string? OnBusy = null)
{
    /// <summary>The <see cref="OnBusy"/> values.</summary>
    public static IReadOnlyList<string> OnBusyValues { get; } = ["queue", "interrupt", "reject"];
}

/// <summary>A turn request as the session's mailbox keeps it (<see cref="SessionMailbox"/>).</summary>
/// <param name="TurnId">The turn's id, given by the API when it accepted the turn.</param>
/// <param name="Request">The turn, settled (prompt, deadline, the session's budgets and tools).</param>
/// <param name="Interrupting">Sent with <c>onBusy: interrupt</c>: it runs before the turns queued without it.</param>
public sealed record SessionTurnEvent(string TurnId, AgentJobSpec Request, bool Interrupting = false);

/// <summary>The input of one session generation: everything the session knows, carried across continue-as-new.</summary>
/// <param name="Template">The settled job request every turn starts from (its prompt is replaced).</param>
/// <param name="IdleTimeoutSeconds">Idle timeout, in seconds.</param>
/// <param name="KeepThread">Keep a thread the session created.</param>
/// <param name="Agent">The agent, once created.</param>
/// <param name="ThreadId">The thread, once known.</param>
/// <param name="CreatedThread">Whether the session created the thread (only then may it delete it).</param>
/// <param name="Turns">Turns run so far.</param>
/// <param name="Usage">Token usage of every turn so far.</param>
/// <param name="LastActiveAt">When the session last started or finished a turn (the idle timeout counts from it).</param>
/// <param name="StartedAt">When the session started (UTC): its first generation's orchestration time, carried on because
/// each turn continues the session as new, which gives the instance a new created time.</param>
public sealed record SessionState(
    AgentJobSpec Template,
    int IdleTimeoutSeconds,
    bool KeepThread,
    AgentRef? Agent = null,
    string? ThreadId = null,
    bool CreatedThread = false,
    int Turns = 0,
    TokenUsage? Usage = null,
    DateTime? LastActiveAt = null,
    DateTime? StartedAt = null);

/// <summary>A session's custom status: where it is now.</summary>
/// <param name="Status"><c>starting</c>, <c>idle</c> (waiting for a turn), <c>running</c> (a turn runs), <c>ending</c>.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="ThreadId">The thread.</param>
/// <param name="TurnsCompleted">Turns finished.</param>
/// <param name="RunningTurn">The turn running now.</param>
/// <param name="IdleExpiresAt">When an idle session ends itself (UTC).</param>
/// <param name="Usage">Token usage of the finished turns.</param>
/// <param name="QueuedTurns">Turns waiting behind the running one, as of its start.</param>
/// <param name="StartedAt">When the session started (<see cref="SessionState.StartedAt"/>).</param>
public sealed record SessionProgress(
    string Status,
    string? AgentId = null,
    string? ThreadId = null,
    int TurnsCompleted = 0,
    RunningTurn? RunningTurn = null,
    DateTime? IdleExpiresAt = null,
    TokenUsage? Usage = null,
    int QueuedTurns = 0,
    DateTime? StartedAt = null);

/// <summary>The turn a session runs now.</summary>
/// <param name="Number">Its number (1, 2, …).</param>
/// <param name="TurnId">Its id.</param>
/// <param name="InstanceId">Its turn orchestration (cancel and approvals go there).</param>
public sealed record RunningTurn(int Number, string TurnId, string InstanceId);

/// <summary>How a session ended (its orchestration's output).</summary>
/// <param name="Reason">Why: <c>deleted</c> (with the caller's reason), <c>idle</c>, or a failure.</param>
/// <param name="Turns">Turns run.</param>
/// <param name="Usage">Token usage of every turn.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="ThreadId">The thread.</param>
/// <param name="AgentDeleted">Whether the agent is gone (it must be, on every path).</param>
/// <param name="ThreadDeleted">Whether the thread was deleted.</param>
/// <param name="Failure">What went wrong, when the session could not start or clean up.</param>
public sealed record AgentSessionResult(
    string Reason, int Turns, TokenUsage? Usage, string? AgentId, string? ThreadId, bool AgentDeleted, bool ThreadDeleted, JobFailure? Failure);

/// <summary>The input of one turn's orchestration.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Number">The turn's number.</param>
/// <param name="TurnId">The turn's id.</param>
/// <param name="Agent">The session's agent.</param>
/// <param name="ThreadId">The session's thread.</param>
/// <param name="Request">The settled turn (prompt, deadline, budgets, approvals, polling).</param>
public sealed record SessionTurnInput(string SessionId, int Number, string TurnId, AgentRef Agent, string ThreadId, AgentJobSpec Request);

/// <summary>What one turn did (its orchestration's output).</summary>
/// <param name="Number">The turn's number.</param>
/// <param name="TurnId">The turn's id.</param>
/// <param name="Prompt">The user's message.</param>
/// <param name="Outcome">How it ended, as a job's outcome.</param>
/// <param name="Reply">What the agent said in this turn.</param>
/// <param name="Messages">The thread's messages after this turn, oldest first (the service's first page).</param>
/// <param name="RunIds">The turn's runs.</param>
/// <param name="RunSteps">What the agent did.</param>
/// <param name="Usage">Token usage of the turn.</param>
/// <param name="ToolCalls">Tool calls answered.</param>
/// <param name="Approvals">Decisions on held calls.</param>
/// <param name="Failure">Why it did not complete, when it did not.</param>
/// <param name="Stop">Why the workflow stopped it early, if it did.</param>
/// <param name="ElapsedSeconds">Orchestration time from start to end.</param>
public sealed record SessionTurnResult(
    int Number,
    string TurnId,
    string Prompt,
    JobOutcome Outcome,
    string? Reply,
    IReadOnlyList<JobMessage> Messages,
    IReadOnlyList<string> RunIds,
    IReadOnlyList<JobRunStep> RunSteps,
    TokenUsage? Usage,
    int ToolCalls,
    IReadOnlyList<JobApproval> Approvals,
    JobFailure? Failure,
    JobStop? Stop,
    double ElapsedSeconds);
