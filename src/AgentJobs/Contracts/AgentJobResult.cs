namespace AgentJobs.Contracts;

/// <summary>The outcome of one agent job: what the agent said, how it got there, and what was cleaned up.</summary>
/// <param name="Outcome">How the job ended.</param>
/// <param name="RunStatus">The last run status the service reported (its own word, e.g. "completed").</param>
/// <param name="Reply">The agent's reply in this run: its assistant messages, in order.</param>
/// <param name="ThreadId">The thread, so a caller can continue the conversation (null only if none was made).</param>
/// <param name="AgentId">The agent that ran the job.</param>
/// <param name="RunIds">The run ids of this job (one for classic runs; one per tool round for responses).</param>
/// <param name="Messages">The thread's messages, oldest first.</param>
/// <param name="RunSteps">What the agent did: message creations and tool calls, oldest first.</param>
/// <param name="Usage">Token usage, when the service reports it.</param>
/// <param name="AgentDeleted">Whether the agent is gone at the end (it must be, on every path).</param>
/// <param name="ThreadDeleted">Whether the thread was deleted at the end.</param>
/// <param name="Failure">Why the job did not complete, when it did not.</param>
/// <param name="Polls">How many times the run was polled.</param>
/// <param name="ToolCalls">How many function-tool calls were answered.</param>
/// <param name="ElapsedSeconds">Orchestration time from start to end.</param>
/// <param name="Stop">Why the workflow stopped the job early (cancel, deadline, failure), or a cancel request that
/// arrived after the run had ended (<see cref="JobStop.Honoured"/> false); null when nothing asked it to stop.</param>
/// <param name="Approvals">How each tool call held for approval was decided, in the order decided (empty without an approval policy).</param>
public sealed record AgentJobResult(
    JobOutcome Outcome,
    string? RunStatus,
    string? Reply,
    string? ThreadId,
    string? AgentId,
    IReadOnlyList<string> RunIds,
    IReadOnlyList<JobMessage> Messages,
    IReadOnlyList<JobRunStep> RunSteps,
    TokenUsage? Usage,
    bool AgentDeleted,
    bool ThreadDeleted,
    JobFailure? Failure,
    int Polls,
    int ToolCalls,
    double ElapsedSeconds,
    JobStop? Stop = null,
    IReadOnlyList<JobApproval>? Approvals = null);

/// <summary>One message of the thread.</summary>
/// <param name="Id">Message id.</param>
/// <param name="Role">"user" or "assistant".</param>
/// <param name="Text">The text content.</param>
/// <param name="RunId">The run that produced it (assistant messages).</param>
/// <param name="CreatedAt">When it was created.</param>
public sealed record JobMessage(string Id, string Role, string Text, string? RunId, DateTimeOffset CreatedAt);

/// <summary>One step the agent took.</summary>
/// <param name="Id">Step id.</param>
/// <param name="Type">"message_creation" or "tool_calls".</param>
/// <param name="Status">The step's status.</param>
/// <param name="RunId">The run it belongs to.</param>
/// <param name="MessageId">For a message creation: the message.</param>
/// <param name="ToolCalls">For tool calls: each call.</param>
public sealed record JobRunStep(
    string Id,
    string Type,
    string Status,
    string RunId,
    string? MessageId,
    IReadOnlyList<JobToolCall> ToolCalls);

/// <summary>A function-tool call as recorded in a run step.</summary>
/// <param name="Id">Tool call id.</param>
/// <param name="Name">Function name.</param>
/// <param name="Arguments">Arguments as JSON text, cut to <see cref="ResultText.MaxToolTextLength"/> characters with a marker.</param>
/// <param name="Output">The output the workflow submitted, when the service reports it; cut likewise.</param>
/// <param name="Approval">How the call was decided, when it was held for approval.</param>
public sealed record JobToolCall(string Id, string Name, string Arguments, string? Output, JobApproval? Approval = null);

/// <summary>Token counts for the job's runs.</summary>
/// <param name="PromptTokens">Input tokens.</param>
/// <param name="CompletionTokens">Output tokens.</param>
/// <param name="TotalTokens">Their sum as the service reports it.</param>
public sealed record TokenUsage(int PromptTokens, int CompletionTokens, int TotalTokens)
{
    /// <summary>Adds two usages; null counts as nothing.</summary>
    public static TokenUsage? Add(TokenUsage? a, TokenUsage? b) =>
        a is null ? b : b is null ? a
        : new TokenUsage(a.PromptTokens + b.PromptTokens, a.CompletionTokens + b.CompletionTokens, a.TotalTokens + b.TotalTokens);
}

/// <summary>Why a job did not complete.</summary>
/// <param name="Code">A short machine-readable code (the service's, or the workflow's own).</param>
/// <param name="Message">What went wrong, in the service's words where it gave any.</param>
public sealed record JobFailure(string Code, string Message);

/// <summary>Keeps a job's result (and so its orchestration output and status reads) bounded.</summary>
public static class ResultText
{
    /// <summary>Longest tool-call argument or output text kept in a result's run steps, in characters (4 KiB).</summary>
    public const int MaxToolTextLength = 4 * 1024;

    /// <summary>
    /// <paramref name="text"/> unchanged when it fits, else its first <paramref name="max"/> characters followed by a
    /// marker <c>…[cut N of M characters]</c>. Never splits a surrogate pair.
    /// </summary>
    public static string? Cap(string? text, int max = MaxToolTextLength)
    {
        if (text is null || text.Length <= max)
        {
            return text;
        }

        var keep = char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        return $"{text[..keep]}…[cut {text.Length - keep:N0} of {text.Length:N0} characters]";
    }

    /// <summary>
    /// The length, in characters, of the longest prefix of <paramref name="text"/> whose UTF-8 encoding fits in
    /// <paramref name="maxBytes"/> bytes; never splits a surrogate pair.
    /// </summary>
    public static int Utf8PrefixLength(string text, int maxBytes)
    {
        ArgumentNullException.ThrowIfNull(text);
        var length = 0;
        var bytes = 0;
        while (length < text.Length)
        {
            var step = char.IsHighSurrogate(text[length]) && length + 1 < text.Length ? 2 : 1;
            var size = System.Text.Encoding.UTF8.GetByteCount(text.AsSpan(length, step));
            if (bytes + size > maxBytes)
            {
                break;
            }

            bytes += size;
            length += step;
        }

        return length;
    }
}
