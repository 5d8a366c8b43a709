using System.Text.Json;
using LocalAgentService.Engine;

namespace LocalAgentService.Storage;

/// <summary>A tool as declared on an assistant or run; <see cref="Raw"/> is echoed back verbatim.</summary>
internal sealed record ToolSpec(string Type, string? FunctionName, string? Description, JsonElement? Parameters, JsonElement Raw);

/// <summary>One content block of a message: text, or another block type kept as raw JSON.</summary>
internal sealed record ContentPart(string Type, string? Text, JsonElement? Raw);

/// <summary>A message to add to a thread.</summary>
internal sealed record MessageSpec(string Role, IReadOnlyList<ContentPart> Content, JsonElement? Attachments, Dictionary<string, string> Metadata);

/// <summary>Assistant fields as parsed from a create or modify request (null = not given).</summary>
internal sealed class AssistantSpec
{
    public string? Model { get; set; }
    public string? Name { get; set; }
    public string? Description { get; set; }
    public string? Instructions { get; set; }
    public IReadOnlyList<ToolSpec>? Tools { get; set; }
    public JsonElement? ToolResources { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public JsonElement? ResponseFormat { get; set; }
    public Dictionary<string, string>? Metadata { get; set; }
}

/// <summary>Run options as parsed from a create-run request (null = take the assistant's).</summary>
internal sealed class RunSpec
{
    public required string AssistantId { get; init; }
    public string? Model { get; init; }
    public string? Instructions { get; init; }
    public string? AdditionalInstructions { get; init; }
    public IReadOnlyList<MessageSpec> AdditionalMessages { get; init; } = [];
    public IReadOnlyList<ToolSpec>? Tools { get; init; }
    public Dictionary<string, string>? Metadata { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? MaxPromptTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public JsonElement? TruncationStrategy { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public JsonElement? ResponseFormat { get; init; }
    public bool? ParallelToolCalls { get; init; }
    public RunFault Fault { get; init; }

    /// <summary>A stream that follows the run from creation (told about <see cref="RunChange.Created"/> and every later change).</summary>
    public IRunObserver? Observer { get; set; }
}

/// <summary>A fault planted into a run at creation (fault injection).</summary>
internal enum RunFault { None, Fail, Expire }

internal sealed class AssistantRecord
{
    public required string Id { get; init; }
    public required long CreatedAt { get; init; }
    public required long Seq { get; init; }
    public required string Model { get; set; }
    public string? Name { get; set; }
    public string? Description { get; set; }
    public string? Instructions { get; set; }
    public IReadOnlyList<ToolSpec> Tools { get; set; } = [];
    public JsonElement? ToolResources { get; set; }
    public double? Temperature { get; set; }
    public double? TopP { get; set; }
    public JsonElement? ResponseFormat { get; set; }
    public Dictionary<string, string> Metadata { get; set; } = [];
}

/// <summary>A thread with its messages and runs; every access to them holds <see cref="Sync"/>.</summary>
internal sealed class ThreadRecord
{
    public object Sync { get; } = new();
    public required string Id { get; init; }
    public required long CreatedAt { get; init; }
    public required long Seq { get; init; }
    public Dictionary<string, string> Metadata { get; set; } = [];
    public JsonElement? ToolResources { get; set; }
    public List<MessageRecord> Messages { get; } = [];
    public List<RunRecord> Runs { get; } = [];

    /// <summary>Conversation items (Responses protocol); a conversation is a thread whose history is items, not messages.</summary>
    public List<ItemRecord> Items { get; } = [];
    public RunRecord? ActiveRun { get; set; }
    public bool Deleted { get; set; }
}

internal sealed class MessageRecord
{
    public required string Id { get; init; }
    public required long CreatedAt { get; init; }
    public required long Seq { get; init; }
    public required string ThreadId { get; init; }
    public required string Role { get; init; }
    public required IReadOnlyList<ContentPart> Content { get; init; }
    public string? AssistantId { get; init; }
    public string? RunId { get; init; }
    public JsonElement? Attachments { get; init; }
    public Dictionary<string, string> Metadata { get; set; } = [];

    /// <summary>The message's text blocks joined, as a model sees them.</summary>
    public string Text => string.Join("\n", Content.Where(c => c.Text is not null).Select(c => c.Text));
}

/// <summary>Run states as the protocol spells them.</summary>
internal static class RunStatus
{
    public const string Queued = "queued";
    public const string InProgress = "in_progress";
    public const string RequiresAction = "requires_action";
    public const string Cancelling = "cancelling";
    public const string Cancelled = "cancelled";
    public const string Failed = "failed";
    public const string Completed = "completed";
    public const string Expired = "expired";
    public const string Incomplete = "incomplete";

    public static readonly string[] All = [Queued, InProgress, RequiresAction, Cancelling, Cancelled, Failed, Completed, Expired, Incomplete];

    public static bool IsTerminal(string status) =>
        status is Cancelled or Failed or Completed or Expired or Incomplete;
}

internal sealed class RunRecord
{
    public required string Id { get; init; }
    public required ThreadRecord Thread { get; init; }
    public required string AssistantId { get; init; }
    public required long CreatedAt { get; init; }
    public required long Seq { get; init; }
    public required string Model { get; init; }
    public string? Instructions { get; init; }
    public required IReadOnlyList<ToolSpec> Tools { get; init; }
    public Dictionary<string, string> Metadata { get; set; } = [];
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public int? MaxPromptTokens { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public JsonElement? TruncationStrategy { get; init; }
    public JsonElement? ToolChoice { get; init; }
    public JsonElement? ResponseFormat { get; init; }
    public bool ParallelToolCalls { get; init; } = true;
    public RunFault Fault { get; init; }

    /// <summary>Set for runs created through the Responses protocol (a response); null for classic runs.</summary>
    public ResponseState? Response { get; init; }

    public string Status { get; set; } = RunStatus.Queued;
    public long ExpiresAtMs { get; set; }
    public long? StartedAt { get; set; }
    public long? CompletedAt { get; set; }
    public long? CancelledAt { get; set; }
    public long? FailedAt { get; set; }
    public (string Code, string Message)? LastError { get; set; }
    public string? IncompleteReason { get; set; }
    public IReadOnlyList<ModelToolCall> PendingToolCalls { get; set; } = [];

    /// <summary>Tool-call and tool-output turns of this run, appended after the thread's messages when the model is called again.</summary>
    public List<ModelTurn> ToolTurns { get; } = [];
    public List<RunStepRecord> Steps { get; } = [];
    public int PromptTokens { get; set; }
    public int CompletionTokens { get; set; }

    /// <summary>When the engine's next transition is due (unix ms), for the poll hint; null when none is scheduled.</summary>
    public long? NextTransitionAtMs { get; set; }

    /// <summary>Cancelled by a cancel request, so an in-flight model call stops.</summary>
    public CancellationTokenSource Cancellation { get; } = new();

    /// <summary>Streams following this run's transitions; guarded by the thread lock like the rest of the run.</summary>
    public List<IRunObserver> Observers { get; } = [];

    /// <summary>Completes when the run reaches a terminal status (a synchronous response waits on it).</summary>
    public TaskCompletionSource Finished { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

internal sealed class StepToolCall
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string Arguments { get; init; }
    public string? Output { get; set; }
}

internal sealed class RunStepRecord
{
    public required string Id { get; init; }
    public required string RunId { get; init; }
    public required string ThreadId { get; init; }
    public required string AssistantId { get; init; }
    public required string Type { get; init; }
    public required long CreatedAt { get; init; }
    public required long Seq { get; init; }
    public string Status { get; set; } = "in_progress";
    public long? CompletedAt { get; set; }
    public long? CancelledAt { get; set; }
    public long? FailedAt { get; set; }
    public long? ExpiredAt { get; set; }
    public (string Code, string Message)? LastError { get; set; }
    public string? MessageId { get; init; }
    public IReadOnlyList<StepToolCall> ToolCalls { get; init; } = [];
    public int PromptTokens { get; init; }
    public int CompletionTokens { get; init; }
    public Dictionary<string, string> Metadata { get; } = [];
}
