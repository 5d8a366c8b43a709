using System.Text.Json.Serialization;

namespace AgentJobs.Contracts;

/// <summary>
/// Which tool calls wait for a person's approval before they run (request field <c>approval</c>). A held call runs
/// once approved; a rejected one is answered with an error output ("rejected by the user: …") so the model can
/// react; when no decision arrives within <see cref="TimeoutSeconds"/>, <see cref="OnTimeout"/> decides.
/// </summary>
/// <param name="Tools">Tools that need approval, named as in the job's <c>tools</c> (<c>calculate</c>, <c>server/tool</c>,
/// <c>server/*</c>), or <c>["*"]</c> for every tool of the job.</param>
/// <param name="TimeoutSeconds">How long a round's calls wait for their decisions, in seconds (default 300).</param>
/// <param name="OnTimeout">What an undecided call becomes when the wait ends (default <see cref="ApprovalTimeoutAction.Reject"/>).</param>
public sealed record ApprovalPolicy(IReadOnlyList<string> Tools, int? TimeoutSeconds = null, ApprovalTimeoutAction? OnTimeout = null)
{
    /// <summary>The wildcard that holds every tool.</summary>
    public const string AllTools = "*";

    /// <summary>Default wait for decisions: 5 minutes.</summary>
    public const int DefaultTimeoutSeconds = 300;
}

/// <summary>What an undecided call becomes when its approval wait times out.</summary>
[JsonConverter(typeof(NamesOnlyEnumConverter<ApprovalTimeoutAction>))]
public enum ApprovalTimeoutAction
{
    /// <summary>The call is rejected (the model gets "approval timed out") and the run goes on.</summary>
    [JsonStringEnumMemberName("reject")]
    Reject,

    /// <summary>The job is cancelled: the run is stopped, its calls closed, the agent deleted.</summary>
    [JsonStringEnumMemberName("cancel")]
    Cancel,
}

/// <summary>
/// A person's decision on one held tool call: the body of <c>POST /api/agent-jobs/{id}/approvals</c> and the payload
/// of the <c>ApprovalDecision</c> external event.
/// </summary>
/// <param name="CallId">The tool call decided (its id in the job's status, <c>progress.pendingApprovals</c>).</param>
/// <param name="Approved">True runs the call; false answers it with a rejection.</param>
/// <param name="Reason">Why, in words (at most 1,000 characters); a rejection's reason reaches the model.</param>
/// <param name="DecidedBy">Who decided: the signed-in user when the host knows one, else what the caller says.</param>
public sealed record ApprovalDecision(string CallId, bool Approved, string? Reason = null, string? DecidedBy = null);

/// <summary>A tool call waiting for approval, as the job's status shows it.</summary>
/// <param name="CallId">The call's id, to decide it by.</param>
/// <param name="Tool">The tool it calls.</param>
/// <param name="Arguments">Its arguments as JSON text, cut to <see cref="PreviewChars"/> characters with a marker.</param>
/// <param name="ExpiresAt">When the wait ends and the policy's <c>onTimeout</c> applies (UTC).</param>
public sealed record PendingApproval(string CallId, string Tool, string Arguments, DateTime ExpiresAt)
{
    /// <summary>Longest argument preview in the status: keeps a round of many held calls under the 16 KB status limit.</summary>
    public const int PreviewChars = 200;
}

/// <summary>How one held tool call was decided, as the result (and its run steps) record it.</summary>
/// <param name="CallId">The call.</param>
/// <param name="Tool">The tool it called.</param>
/// <param name="Approved">Whether it ran.</param>
/// <param name="Reason">The decision's reason; for a timeout, that it timed out.</param>
/// <param name="DecidedBy">Who decided; <c>timeout</c> when nobody did.</param>
/// <param name="DecidedAt">When the workflow took the decision in (orchestration time, UTC).</param>
public sealed record JobApproval(string CallId, string Tool, bool Approved, string? Reason, string? DecidedBy, DateTime DecidedAt);

/// <summary>
/// An enum read and written by name only: the default string-enum converter also takes numbers, so <c>5</c> read as an
/// action no code handles.
/// </summary>
/// <typeparam name="TEnum">The enum.</typeparam>
public sealed class NamesOnlyEnumConverter<TEnum>() : JsonStringEnumConverter<TEnum>(namingPolicy: null, allowIntegerValues: false)
    where TEnum : struct, Enum;
