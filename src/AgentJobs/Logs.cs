using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Workflow;
using Microsoft.Extensions.Logging;

namespace AgentJobs;

/// <summary>
/// Every log message of this library, source-generated (no boxing or template parsing when a level is off). EventIds are
/// stable: one block of 100 per area, never reused; the message texts and property names are what users and tests read.
/// Orchestrators call these on their replay-safe logger (<c>context.CreateReplaySafeLogger</c>).
/// </summary>
internal static partial class Logs
{
    // 100: the jobs HTTP API.
    [LoggerMessage(EventId = 101, Level = LogLevel.Information, Message = "Scheduled agent job {JobId}.")]
    public static partial void JobScheduled(this ILogger logger, string jobId);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Agent job {JobId} for an idempotency key: {Outcome}.")]
    public static partial void JobIdempotencyKeyOutcome(this ILogger logger, string jobId, IdempotentStarts.Outcome outcome);

    [LoggerMessage(EventId = 103, Level = LogLevel.Debug, Message = "Status asked for unknown agent job {JobId}.")]
    public static partial void JobStatusOfUnknown(this ILogger logger, string jobId);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "Cancel requested for agent job {JobId}.")]
    public static partial void JobCancelRequested(this ILogger logger, string jobId);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Approval decision for tool call {CallId} of agent job {JobId}: {Approved}.")]
    public static partial void JobApprovalDecision(this ILogger logger, string callId, string jobId, string approved);

    [LoggerMessage(EventId = 106, Level = LogLevel.Debug, Message = "Listed {Count} of {Matching} {Name} instances.")]
    public static partial void InstancesListed(this ILogger logger, int count, int matching, string name);

    // 200: the sessions HTTP API.
    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Started agent session {SessionId}{Again}.")]
    public static partial void SessionStarted(this ILogger logger, string sessionId, string again);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Agent session {SessionId} ended while starting: {Reason}")]
    public static partial void SessionEndedWhileStarting(this ILogger logger, string sessionId, string? reason);

    [LoggerMessage(EventId = 203, Level = LogLevel.Information, Message = "Turn {TurnId} refused: agent session {SessionId} ended before it could take it.")]
    public static partial void SessionTurnRefused(this ILogger logger, string turnId, string sessionId);

    [LoggerMessage(EventId = 204, Level = LogLevel.Information, Message = "Turn {Number} of agent session {SessionId} interrupted by turn {TurnId} ({Outcome}).")]
    public static partial void SessionTurnInterrupted(this ILogger logger, int number, string sessionId, string turnId, JobEvents.RaiseResult outcome);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Turn {TurnId} sent to agent session {SessionId}{Queued}.")]
    public static partial void SessionTurnSent(this ILogger logger, string turnId, string sessionId, string queued);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "Turn {TurnId} of agent session {SessionId} asked for again with its idempotency key.")]
    public static partial void SessionTurnReplayed(this ILogger logger, string turnId, string sessionId);

    [LoggerMessage(EventId = 207, Level = LogLevel.Debug, Message = "Status asked for unknown agent session {SessionId}.")]
    public static partial void SessionStatusOfUnknown(this ILogger logger, string sessionId);

    [LoggerMessage(EventId = 208, Level = LogLevel.Debug, Message = "Turns asked for unknown agent session {SessionId}.")]
    public static partial void SessionTurnsOfUnknown(this ILogger logger, string sessionId);

    [LoggerMessage(EventId = 209, Level = LogLevel.Debug, Message = "Unknown turn {Turn} of agent session {SessionId} asked for.")]
    public static partial void SessionTurnUnknown(this ILogger logger, string turn, string sessionId);

    [LoggerMessage(EventId = 210, Level = LogLevel.Information, Message = "Cancel requested for turn {Number} of agent session {SessionId}.")]
    public static partial void SessionTurnCancelRequested(this ILogger logger, int number, string sessionId);

    [LoggerMessage(EventId = 211, Level = LogLevel.Information, Message = "Approval decision for tool call {CallId} of agent session {SessionId}: {Outcome}.")]
    public static partial void SessionApprovalDecision(this ILogger logger, string callId, string sessionId, JobApprovals.Outcome outcome);

    [LoggerMessage(EventId = 212, Level = LogLevel.Information, Message = "Agent session {SessionId} asked to end.")]
    public static partial void SessionEndRequested(this ILogger logger, string sessionId);

    // 300: batches (HTTP API and orchestrator).
    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Scheduled agent batch {BatchId} with {Items} items, {MaxParallel} at a time.")]
    public static partial void BatchScheduled(this ILogger logger, string batchId, int items, int maxParallel);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "Status asked for unknown agent batch {BatchId}.")]
    public static partial void BatchStatusOfUnknown(this ILogger logger, string batchId);

    [LoggerMessage(EventId = 303, Level = LogLevel.Information, Message = "Cancel requested for agent batch {BatchId}.")]
    public static partial void BatchCancelRequested(this ILogger logger, string batchId);

    [LoggerMessage(EventId = 304, Level = LogLevel.Information, Message = "Batch {BatchId} cancelled ({Reason}): cancelling {Running} running items.")]
    public static partial void BatchCancelling(this ILogger logger, string batchId, string reason, int running);

    [LoggerMessage(EventId = 305, Level = LogLevel.Warning, Message = "Batch {BatchId} item {Index} failed as an orchestration: {Message}")]
    public static partial void BatchItemFailed(this ILogger logger, string batchId, int index, string message);

    [LoggerMessage(EventId = 306, Level = LogLevel.Information, Message = "Batch {BatchId} done: {Finished} of {Total} items ended.")]
    public static partial void BatchDone(this ILogger logger, string batchId, int finished, int total);

    // 400: retention and purging.
    [LoggerMessage(EventId = 401, Level = LogLevel.Information, Message = "Retention purge: {Owners} finished jobs, batches and sessions older than {Days} days purged ({Instances} instances); {Kept} kept because something they own still runs.")]
    public static partial void RetentionPurged(this ILogger logger, int owners, int days, int instances, int kept);

    [LoggerMessage(EventId = 402, Level = LogLevel.Information, Message = "Not purging {Id}: {Owned} still runs.")]
    public static partial void PurgeSkippedRunning(this ILogger logger, string id, string owned);

    [LoggerMessage(EventId = 403, Level = LogLevel.Warning, Message = "The text deltas of {Id} were not deleted; they stay in the delta log until removed by hand.")]
    public static partial void PurgeDeltasNotDeleted(this ILogger logger, Exception exception, string id);

    [LoggerMessage(EventId = 404, Level = LogLevel.Debug, Message = "Purged {Id} and {Owned} instances it owned.")]
    public static partial void Purged(this ILogger logger, string id, int owned);

    [LoggerMessage(EventId = 405, Level = LogLevel.Information, Message = "Purged agent job {JobId} ({Instances} instances).")]
    public static partial void JobPurged(this ILogger logger, string jobId, int instances);

    [LoggerMessage(EventId = 406, Level = LogLevel.Warning, Message = "Retention purge failed; trying again in {Minutes} minutes.")]
    public static partial void RetentionLoopFailed(this ILogger logger, Exception exception, int minutes);

    [LoggerMessage(EventId = 407, Level = LogLevel.Warning, Message = "Retention purge failed: {Message}")]
    public static partial void RetentionScheduleFailed(this ILogger logger, string message);

    [LoggerMessage(EventId = 408, Level = LogLevel.Information, Message = "Started the retention schedule: purging jobs finished more than {Days} days ago, every {Minutes} minutes.")]
    public static partial void RetentionScheduleStarted(this ILogger logger, int days, int minutes);

    [LoggerMessage(EventId = 409, Level = LogLevel.Warning, Message = "Could not start the retention schedule; the next request tries again.")]
    public static partial void RetentionScheduleNotStarted(this ILogger logger, Exception exception);

    // 500: session orchestration and its mailbox.
    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "Session {SessionId} ends ({Reason}) after {Turns} turn(s).")]
    public static partial void SessionEnds(this ILogger logger, string sessionId, string reason, int turns);

    [LoggerMessage(EventId = 502, Level = LogLevel.Error, Message = "Turn {Number} of session {SessionId} failed: {Message}")]
    public static partial void SessionTurnFailed(this ILogger logger, int number, string sessionId, string message);

    [LoggerMessage(EventId = 503, Level = LogLevel.Debug, Message = "Session {SessionId} mailbox: {Count} turn request(s){End}.")]
    public static partial void SessionMailboxRead(this ILogger logger, string sessionId, int count, string end);

    [LoggerMessage(EventId = 504, Level = LogLevel.Debug, Message = "Session {SessionId} recorded its idle end; reading its mailbox a last time.")]
    public static partial void SessionIdleEndRecorded(this ILogger logger, string sessionId);

    [LoggerMessage(EventId = 505, Level = LogLevel.Debug, Message = "Turn request {RequestId} removed ({Removed}).")]
    public static partial void SessionTurnRequestRemoved(this ILogger logger, string requestId, bool removed);

    // 600: the job orchestrator and its turn.
    [LoggerMessage(EventId = 601, Level = LogLevel.Error, Message = "Job {JobId} failed in {Phase}: {Message}")]
    public static partial void JobFailed(this ILogger logger, string jobId, JobPhase phase, string message);

    [LoggerMessage(EventId = 602, Level = LogLevel.Warning, Message = "Run {RunId} still waits for tool outputs after it was cancelled; not waiting for it.")]
    public static partial void RunWaitsForToolsAfterCancel(this ILogger logger, string runId);

    [LoggerMessage(EventId = 603, Level = LogLevel.Warning, Message = "Run {RunId} did not finish cancelling in time; cleaning up anyway.")]
    public static partial void RunCancelTimedOut(this ILogger logger, string runId);

    [LoggerMessage(EventId = 604, Level = LogLevel.Warning, Message = "Cancel of the run started by {Key} was refused: {Message}")]
    public static partial void RunCancelByKeyRefused(this ILogger logger, string key, string message);

    [LoggerMessage(EventId = 605, Level = LogLevel.Information, Message = "Cancelling run {RunId}: {Reason}")]
    public static partial void RunCancelling(this ILogger logger, string runId, string reason);

    [LoggerMessage(EventId = 606, Level = LogLevel.Warning, Message = "Cancel of run {RunId} was refused: {Message}")]
    public static partial void RunCancelRefused(this ILogger logger, string runId, string message);

    [LoggerMessage(EventId = 607, Level = LogLevel.Warning, Message = "Ignored a decision for tool call {CallId}: it does not wait for approval.")]
    public static partial void ApprovalDecisionIgnored(this ILogger logger, string callId);

    [LoggerMessage(EventId = 608, Level = LogLevel.Error, Message = "{Activity} failed: {Message}")]
    public static partial void CleanupActivityFailed(this ILogger logger, string activity, string message);

    // 700: activities.
    [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "Agent {AgentId} {Outcome}.")]
    public static partial void AgentDeleted(this ILogger logger, string agentId, string outcome);

    [LoggerMessage(EventId = 702, Level = LogLevel.Information, Message = "Agent job {JobId} awaits approval of {Count} tool call(s) until {ExpiresAt:O}: {Calls}.")]
    public static partial void ApprovalsRequested(this ILogger logger, string jobId, int count, DateTimeOffset expiresAt, string calls);

    [LoggerMessage(EventId = 703, Level = LogLevel.Warning, Message = "Tool call {ToolCallId} ({Tool}) was given up: job {JobId} stopped.")]
    public static partial void ToolCallGivenUp(this ILogger logger, string toolCallId, string tool, string? jobId);

    [LoggerMessage(EventId = 704, Level = LogLevel.Warning, Message = "Tool call {ToolCallId} ({Tool}) returned an error output.")]
    public static partial void ToolCallErrorOutput(this ILogger logger, string toolCallId, string tool);

    [LoggerMessage(EventId = 705, Level = LogLevel.Debug, Message = "Reading job {JobId} for a running tool failed; trying again.")]
    public static partial void ToolJobReadFailed(this ILogger logger, Exception exception, string jobId);

    [LoggerMessage(EventId = 706, Level = LogLevel.Warning, Message = "The delta log of {CallKey} could not be read; its text reaches watchers with the reply.")]
    public static partial void DeltaLogNotRead(this ILogger logger, Exception exception, string callKey);

    // 800: the text delta log.
    [LoggerMessage(EventId = 801, Level = LogLevel.Debug, Message = "Writing text deltas of {CallKey} failed; trying again.")]
    public static partial void DeltaWriteRetrying(this ILogger logger, Exception exception, string callKey);

    [LoggerMessage(EventId = 802, Level = LogLevel.Warning, Message = "Text deltas {First}–{Last} of {CallKey} were not logged; watchers see that text with the reply.")]
    public static partial void DeltasNotLogged(this ILogger logger, Exception exception, int first, int last, string callKey);

    // 900: MCP tool servers.
    [LoggerMessage(EventId = 901, Level = LogLevel.Information, Message = "MCP server {Server} no longer knows session {Session} (404); starting a new one for call {ToolCallId}.")]
    public static partial void McpSessionLost(this ILogger logger, string server, string session, string toolCallId);

    [LoggerMessage(EventId = 902, Level = LogLevel.Warning, Message = "MCP call {ToolCallId} of {Tool} on server {Server} timed out after {Seconds} s.")]
    public static partial void McpCallTimedOut(this ILogger logger, string toolCallId, string tool, string server, double seconds);

    [LoggerMessage(EventId = 903, Level = LogLevel.Warning, Message = "MCP call {ToolCallId} of {Tool} on server {Server} failed transiently: {Message}")]
    public static partial void McpCallFailedTransiently(this ILogger logger, string toolCallId, string tool, string server, string message);
}
