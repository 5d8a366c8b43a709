using System.Text.Json.Serialization;

namespace AgentJobs.Contracts;

/// <summary>
/// Why the workflow stopped a job before its run ended on its own. Decided once, in one place (the first of a
/// cancel request, the deadline or a failure wins), and recorded in the result, so callers can tell a cancel that
/// stopped the run from one that arrived after it had ended.
/// </summary>
/// <param name="Reason">What stopped the job.</param>
/// <param name="Message">In words: the caller's cancel reason, the deadline, or the failure.</param>
/// <param name="AtSeconds">Orchestration time since the job started when the stop was decided or, for a cancel
/// that arrived too late to matter, when the workflow noticed it.</param>
/// <param name="Honoured">False when the request arrived after the run had already ended: the outcome is the
/// run's own and the request changed nothing.</param>
public sealed record JobStop(StopReason Reason, string Message, double AtSeconds, bool Honoured = true);

/// <summary>What stopped a job (see <see cref="JobStop"/>).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StopReason>))]
public enum StopReason
{
    /// <summary>The caller asked to cancel (<c>POST /api/agent-jobs/{id}/cancel</c>, Ctrl+C on <c>run</c>).</summary>
    CancelRequested,

    /// <summary>The job passed its <c>maxDurationSeconds</c>.</summary>
    DeadlinePassed,

    /// <summary>The workflow could not go on: a service call failed for good, or the service sent something unusable.</summary>
    Failed,

    /// <summary>The job went over one of its budgets (<c>maxToolRounds</c>, <c>maxTotalTokens</c>).</summary>
    BudgetExceeded,

    /// <summary>A tool call's approval timed out and the job's policy says <c>onTimeout: "cancel"</c>.</summary>
    ApprovalTimedOut,
}
