#pragma warning disable CA1822 // constant discriminators (object, type) are instance properties so the serializer writes them

using System.Text.Json;

namespace LocalAgentService.Protocols.Classic;

// Wire shapes of the classic (Assistants v2 / Foundry classic v1) protocol; names become snake_case on the wire.

internal sealed record ListDto<T>(IReadOnlyList<T> Data, string? FirstId, string? LastId, bool HasMore)
{
    public string Object => "list";
}

internal sealed record DeletedDto(string Id, string Object, bool Deleted);

internal sealed record AssistantDto(
    string Id, long CreatedAt, string? Name, string? Description, string Model, string? Instructions,
    IReadOnlyList<JsonElement> Tools, object ToolResources, IReadOnlyDictionary<string, string> Metadata,
    double? Temperature, double? TopP, object ResponseFormat)
{
    public string Object => "assistant";
}

internal sealed record ThreadDto(string Id, long CreatedAt, IReadOnlyDictionary<string, string> Metadata, object ToolResources)
{
    public string Object => "thread";
}

internal sealed record TextValueDto(string Value, IReadOnlyList<object> Annotations);

internal sealed record TextContentDto(TextValueDto Text)
{
    public string Type => "text";
}

internal sealed record MessageDto(
    string Id, long CreatedAt, string ThreadId, string Status, object? IncompleteDetails, long? CompletedAt, long? IncompleteAt,
    string Role, IReadOnlyList<object> Content, string? AssistantId, string? RunId, object Attachments,
    IReadOnlyDictionary<string, string> Metadata)
{
    public string Object => "thread.message";
}

internal sealed record ErrorDto(string Code, string Message);

internal sealed record UsageDto(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record FunctionCallDto(string Name, string Arguments, string? Output);

internal sealed record ToolCallDto(string Id, FunctionCallDto Function)
{
    public string Type => "function";
}

internal sealed record SubmitToolOutputsDto(IReadOnlyList<ToolCallDto> ToolCalls);

internal sealed record RequiredActionDto(SubmitToolOutputsDto SubmitToolOutputs)
{
    public string Type => "submit_tool_outputs";
}

internal sealed record IncompleteDetailsDto(string Reason);

internal sealed record RunDto(
    string Id, long CreatedAt, string ThreadId, string AssistantId, string Status, RequiredActionDto? RequiredAction,
    ErrorDto? LastError, long? ExpiresAt, long? StartedAt, long? CancelledAt, long? FailedAt, long? CompletedAt,
    IncompleteDetailsDto? IncompleteDetails, string Model, string? Instructions, IReadOnlyList<JsonElement> Tools,
    IReadOnlyDictionary<string, string> Metadata, UsageDto? Usage, double? Temperature, double? TopP,
    int? MaxPromptTokens, int? MaxCompletionTokens, object TruncationStrategy, object ToolChoice,
    bool ParallelToolCalls, object ResponseFormat)
{
    public string Object => "thread.run";
}

internal sealed record MessageCreationDto(string MessageId);

internal sealed record MessageCreationDetailsDto(MessageCreationDto MessageCreation)
{
    public string Type => "message_creation";
}

internal sealed record ToolCallsDetailsDto(IReadOnlyList<ToolCallDto> ToolCalls)
{
    public string Type => "tool_calls";
}

internal sealed record RunStepDto(
    string Id, long CreatedAt, string AssistantId, string ThreadId, string RunId, string Type, string Status,
    object StepDetails, ErrorDto? LastError, long? ExpiredAt, long? CancelledAt, long? FailedAt, long? CompletedAt,
    IReadOnlyDictionary<string, string> Metadata, UsageDto? Usage)
{
    public string Object => "thread.run.step";
}

internal sealed record TextDeltaContentDto(int Index, TextValueDto Text)
{
    public string Type => "text";
}

internal sealed record MessageDeltaBodyDto(IReadOnlyList<TextDeltaContentDto> Content);

/// <summary>The data of <c>thread.message.delta</c>: a piece of a message's content.</summary>
internal sealed record MessageDeltaDto(string Id, MessageDeltaBodyDto Delta)
{
    public string Object => "thread.message.delta";
}
