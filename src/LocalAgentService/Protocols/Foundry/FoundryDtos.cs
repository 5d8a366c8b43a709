#pragma warning disable CA1822 // constant discriminators (object, type) are instance properties so the serializer writes them

using System.Text.Json;
using LocalAgentService.Protocols.Classic;

namespace LocalAgentService.Protocols.Foundry;

// Wire shapes of the current Foundry protocol (versioned agents + OpenAI Responses/Conversations); snake_case on the wire.

internal sealed record AgentVersionDto(
    string Id, string Name, string Version, string? Description, long CreatedAt,
    IReadOnlyDictionary<string, string> Metadata, JsonElement Definition)
{
    public string Object => "agent.version";
}

internal sealed record AgentVersionsDto(AgentVersionDto Latest);

internal sealed record AgentDto(string Id, string Name, AgentVersionsDto Versions)
{
    public string Object => "agent";
}

internal sealed record AgentVersionDeletedDto(string Name, string Version, bool Deleted)
{
    public string Object => "agent.version.deleted";
}

internal sealed record AgentDeletedDto(string Name, bool Deleted)
{
    public string Object => "agent.deleted";
}

internal sealed record ConversationDto(string Id, long CreatedAt, IReadOnlyDictionary<string, string> Metadata)
{
    public string Object => "conversation";
}

internal sealed record InputTextDto(string Text)
{
    public string Type => "input_text";
}

internal sealed record OutputTextDto(string Text, IReadOnlyList<object> Annotations)
{
    public string Type => "output_text";
}

/// <summary>Foundry's item extension: which response (and agent) produced the item.</summary>
internal sealed record CreatedByDto(AgentIdDto? Agent, string ResponseId);

internal sealed record MessageItemDto(string Id, string Status, string Role, IReadOnlyList<object> Content, long CreatedAt, CreatedByDto? CreatedBy)
{
    public string Type => "message";
}

internal sealed record FunctionCallItemDto(string Id, string CallId, string Name, string Arguments, string Status, long CreatedAt, CreatedByDto? CreatedBy)
{
    public string Type => "function_call";
}

internal sealed record FunctionCallOutputItemDto(string Id, string CallId, string Output, string Status, long CreatedAt, CreatedByDto? CreatedBy)
{
    public string Type => "function_call_output";
}

internal sealed record ConversationRefDto(string Id);

internal sealed record AgentIdDto(string Name, string Version)
{
    public string Type => "agent_id";
}

internal sealed record AgentReferenceDto(string Name, string Version)
{
    public string Type => "agent_reference";
}

internal sealed record InputTokensDetailsDto(int CachedTokens);

internal sealed record OutputTokensDetailsDto(int ReasoningTokens);

internal sealed record ResponseUsageDto(int InputTokens, InputTokensDetailsDto InputTokensDetails, int OutputTokens, OutputTokensDetailsDto OutputTokensDetails, int TotalTokens);

internal sealed record TextFormatDto(string Type);

internal sealed record TextOptionsDto(TextFormatDto Format);

internal sealed record ResponseDto(
    string Id, long CreatedAt, string Status, bool Background, long? CompletedAt, ErrorDto? Error,
    IncompleteDetailsDto? IncompleteDetails, string? Instructions, int? MaxOutputTokens, string Model,
    IReadOnlyList<object> Output, bool ParallelToolCalls, string? PreviousResponseId, double? Temperature,
    string ToolChoice, IReadOnlyList<JsonElement> Tools, double? TopP, string Truncation, ResponseUsageDto? Usage,
    IReadOnlyDictionary<string, string> Metadata, bool Store, TextOptionsDto Text, object? Reasoning,
    ConversationRefDto? Conversation, AgentIdDto? Agent, AgentReferenceDto? AgentReference)
{
    public string Object => "response";
}

// Responses stream events (OpenAI spec shapes): every event has its type and the response's sequence number.

internal sealed record ResponseEventDto(string Type, int SequenceNumber, ResponseDto Response);

internal sealed record OutputItemEventDto(string Type, int SequenceNumber, int OutputIndex, object Item);

internal sealed record ContentPartEventDto(string Type, int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, OutputTextDto Part);

internal sealed record OutputTextDeltaEventDto(string Type, int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Delta, IReadOnlyList<object> Logprobs);

internal sealed record OutputTextDoneEventDto(string Type, int SequenceNumber, string ItemId, int OutputIndex, int ContentIndex, string Text, IReadOnlyList<object> Logprobs);

internal sealed record ArgumentsDeltaEventDto(string Type, int SequenceNumber, string ItemId, int OutputIndex, string Delta);

internal sealed record ArgumentsDoneEventDto(string Type, int SequenceNumber, string ItemId, int OutputIndex, string Name, string Arguments);
