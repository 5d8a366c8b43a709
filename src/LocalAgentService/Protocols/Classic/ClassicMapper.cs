using System.Text.Json;
using LocalAgentService.Storage;

namespace LocalAgentService.Protocols.Classic;

/// <summary>Store records → classic wire shapes. Called under the owning lock, so it copies what it needs.</summary>
internal static class ClassicMapper
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();
    private static readonly object DefaultTruncation = new { type = "auto", last_messages = (int?)null };

    public static AssistantDto Assistant(AssistantRecord a) => new(
        a.Id, a.CreatedAt, a.Name, a.Description, a.Model, a.Instructions,
        a.Tools.Select(t => t.Raw).ToList(), a.ToolResources ?? EmptyObject, Copy(a.Metadata),
        a.Temperature ?? 1.0, a.TopP ?? 1.0, (object?)a.ResponseFormat ?? "auto");

    public static ThreadDto Thread(ThreadRecord t) => new(t.Id, t.CreatedAt, Copy(t.Metadata), t.ToolResources ?? EmptyObject);

    public static MessageDto Message(MessageRecord m) => new(
        m.Id, m.CreatedAt, m.ThreadId, "completed", null, m.CreatedAt, null, m.Role,
        m.Content.Select(c => c.Text is not null ? new TextContentDto(new TextValueDto(c.Text, [])) : (object)c.Raw!).ToList(),
        m.AssistantId, m.RunId, (object?)m.Attachments ?? Array.Empty<object>(), Copy(m.Metadata));

    public static RunDto Run(RunRecord r)
    {
        bool terminal = RunStatus.IsTerminal(r.Status);
        var required = r.Status == RunStatus.RequiresAction
            ? new RequiredActionDto(new SubmitToolOutputsDto(r.PendingToolCalls.Select(c => new ToolCallDto(c.Id, new FunctionCallDto(c.Name, c.Arguments, null))).ToList()))
            : null;
        return new RunDto(
            r.Id, r.CreatedAt, r.Thread.Id, r.AssistantId, r.Status, required,
            r.LastError is { } e ? new ErrorDto(e.Code, e.Message) : null,
            terminal ? null : r.ExpiresAtMs / 1000, r.StartedAt, r.CancelledAt, r.FailedAt, r.CompletedAt,
            r.IncompleteReason is { } reason ? new IncompleteDetailsDto(reason) : null,
            r.Model, r.Instructions, r.Tools.Select(t => t.Raw).ToList(), Copy(r.Metadata),
            terminal ? Usage(r.PromptTokens, r.CompletionTokens) : null,
            r.Temperature, r.TopP, r.MaxPromptTokens, r.MaxCompletionTokens,
            (object?)r.TruncationStrategy ?? DefaultTruncation, (object?)r.ToolChoice ?? "auto",
            r.ParallelToolCalls, (object?)r.ResponseFormat ?? "auto");
    }

    public static RunStepDto Step(RunStepRecord s)
    {
        object details = s.Type == "message_creation"
            ? new MessageCreationDetailsDto(new MessageCreationDto(s.MessageId!))
            : new ToolCallsDetailsDto(s.ToolCalls.Select(c => new ToolCallDto(c.Id, new FunctionCallDto(c.Name, c.Arguments, c.Output))).ToList());
        return new RunStepDto(
            s.Id, s.CreatedAt, s.AssistantId, s.ThreadId, s.RunId, s.Type, s.Status, details,
            s.LastError is { } e ? new ErrorDto(e.Code, e.Message) : null,
            s.ExpiredAt, s.CancelledAt, s.FailedAt, s.CompletedAt, Copy(s.Metadata),
            s.Status == "in_progress" ? null : Usage(s.PromptTokens, s.CompletionTokens));
    }

    public static ListDto<T> List<T>(Page<T> page, Func<T, string> id) =>
        new(page.Items, page.Items.Count > 0 ? id(page.Items[0]) : null, page.Items.Count > 0 ? id(page.Items[^1]) : null, page.HasMore);

    private static UsageDto Usage(int prompt, int completion) => new(prompt, completion, prompt + completion);

    private static Dictionary<string, string> Copy(Dictionary<string, string> metadata) => new(metadata, StringComparer.Ordinal);
}
