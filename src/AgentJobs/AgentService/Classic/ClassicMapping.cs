using System.ClientModel;
using AgentJobs.Contracts;
using OpenAI.Assistants;

namespace AgentJobs.AgentService.Classic;

/// <summary>Maps the SDK's Assistants types onto the port's protocol-neutral records.</summary>
internal static class ClassicMapping
{
    /// <summary>A run as the service returned it, with its poll-after hint.</summary>
    public static RunState ToRunState(ClientResult<ThreadRun> result) =>
        ToRunState(result.Value, ServiceCall.PollAfterMs(result.GetRawResponse()));

    public static RunState ToRunState(ThreadRun run, int? pollAfterMs)
    {
        var raw = run.Status.ToString();
        var toolCalls = run.Status == RunStatus.RequiresAction
            ? run.RequiredActions.Select(a => new ToolCallRequest(a.ToolCallId, a.FunctionName, a.FunctionArguments ?? "{}")).ToList()
            : [];
        var error = run.LastError is { } e ? new JobFailure(e.Code.ToString(), e.Message) : null;
        var usage = run.Usage is { } u ? new TokenUsage(u.InputTokenCount, u.OutputTokenCount, u.TotalTokenCount) : null;
        return new RunState(
            run.ThreadId,
            run.Id,
            AgentRunStatusExtensions.Parse(raw),
            raw,
            toolCalls,
            error,
            run.IncompleteDetails?.Reason?.ToString(),
            usage,
            pollAfterMs);
    }

    public static JobMessage ToJobMessage(ThreadMessage message) => new(
        message.Id,
        message.Role == MessageRole.Assistant ? "assistant" : "user",
        string.Concat(message.Content.Select(c => c.Text ?? string.Empty)),
        message.RunId,
        message.CreatedAt);

    public static JobRunStep ToJobRunStep(RunStep step) => new(
        step.Id,
        step.Kind == RunStepKind.CreatedMessage ? "message_creation" : "tool_calls",
        step.Status.ToString(),
        step.RunId,
        step.Details?.CreatedMessageId,
        step.Details?.ToolCalls
            .Where(c => c.Kind == RunStepToolCallKind.Function)
            .Select(c => new JobToolCall(c.Id, c.FunctionName, c.FunctionArguments ?? "{}", c.FunctionOutput))
            .ToList() ?? []);
}
