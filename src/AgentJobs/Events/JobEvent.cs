using System.Text.Json.Nodes;

namespace AgentJobs.Events;

/// <summary>One thing that happened in a job, as the event stream sends it.</summary>
/// <param name="Id">Stable, ordered id (<see cref="JobEventId"/>).</param>
/// <param name="Type">The event type (<see cref="JobEventTypes"/>).</param>
/// <param name="Data">The event's fields (always including <c>at</c>, the history event's UTC timestamp).</param>
public sealed record JobEvent(JobEventId Id, string Type, JsonObject Data);

/// <summary>The event types of the job event stream.</summary>
public static class JobEventTypes
{
    /// <summary>The job was accepted and started: <c>prompt</c> (≤ 200 chars), <c>model</c>, <c>tools</c>, <c>maxDurationSeconds</c>.</summary>
    public const string Accepted = "accepted";

    /// <summary>The job entered a phase: <c>phase</c> (a <see cref="Contracts.JobPhase"/> name).</summary>
    public const string Phase = "phase";

    /// <summary>The run's status changed: <c>runId</c>, <c>status</c> (the service's word), <c>polls</c> when seen by a poll.</summary>
    public const string RunStatus = "runStatus";

    /// <summary>The agent asked for a tool call: <c>callId</c>, <c>tool</c>, <c>arguments</c> (≤ 1 KB).</summary>
    public const string ToolCall = "toolCall";

    /// <summary>A tool call was answered: <c>callId</c>, <c>tool</c>, <c>output</c> (≤ 1 KB), <c>isError</c>.</summary>
    public const string ToolResult = "toolResult";

    /// <summary>A tool call waits for a person's approval: <c>callId</c>, <c>tool</c>, <c>arguments</c> (≤ 200 chars), <c>expiresAt</c>.</summary>
    public const string ApprovalRequested = "approvalRequested";

    /// <summary>A held tool call was decided: <c>callId</c>, <c>tool</c>, <c>approved</c>, <c>reason</c>, <c>decidedBy</c> (<c>timeout</c> when nobody decided in time).</summary>
    public const string ApprovalDecided = "approvalDecided";

    /// <summary>Someone asked the job to cancel: <c>reason</c>.</summary>
    public const string CancelRequested = "cancelRequested";

    /// <summary>
    /// Text the agent wrote, as it streams: <c>runId</c> (run or response), <c>itemId</c> (message or output item),
    /// <c>text</c>; <c>truncated</c> on the last one when the call's delta log reached its cap. A job's deltas spell
    /// its reply; a stream that starts (no <c>Last-Event-ID</c>) after the job ended skips them (the <see cref="Reply"/> carries the text).
    /// </summary>
    public const string Delta = "delta";

    /// <summary>The agent's reply: <c>text</c>.</summary>
    public const string Reply = "reply";

    /// <summary>The last event: <c>runtimeStatus</c>, <c>outcome</c>, <c>runStatus</c>, <c>failure</c>, <c>usage</c>, <c>agentDeleted</c>, <c>threadDeleted</c>, <c>polls</c>, <c>toolCalls</c>, <c>elapsedSeconds</c>.</summary>
    public const string Result = "result";
}
