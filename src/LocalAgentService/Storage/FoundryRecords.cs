using System.Text.Json;

namespace LocalAgentService.Storage;

/// <summary>
/// One conversation/response item as given or produced: a <c>message</c> (role + content parts),
/// a <c>function_call</c>, a <c>function_call_output</c>, or another type kept as raw JSON.
/// </summary>
internal sealed record ItemSpec(
    string Type,
    string? Role = null,
    IReadOnlyList<ContentPart>? Content = null,
    string? CallId = null,
    string? Name = null,
    string? Arguments = null,
    string? Output = null,
    JsonElement? Raw = null)
{
    /// <summary>The message's text parts joined, as a model sees them.</summary>
    public string Text => string.Join("\n", (Content ?? []).Where(c => c.Text is not null).Select(c => c.Text));
}

/// <summary>A stored item: the spec plus its id and order, and for a response's output the response (and agent) that made it. Immutable.</summary>
internal sealed record ItemRecord(string Id, long CreatedAt, long Seq, ItemSpec Spec, string? ResponseId = null, AgentVersionRecord? Agent = null);

/// <summary>One version of a named (prompt) agent. Immutable: a new definition is a new version.</summary>
internal sealed record AgentVersionRecord(
    string Name,
    string Version,
    long CreatedAt,
    long Seq,
    string? Description,
    Dictionary<string, string> Metadata,
    JsonElement Definition,
    string Model,
    string? Instructions,
    IReadOnlyList<ToolSpec> Tools)
{
    /// <summary>The service's id for a version: <c>name:version</c>.</summary>
    public string Id => $"{Name}:{Version}";
}

/// <summary>A named agent and its versions (oldest first); guarded by the store's agent lock.</summary>
internal sealed class NamedAgentRecord
{
    public required string Name { get; init; }
    public required long Seq { get; init; }
    public List<AgentVersionRecord> Versions { get; } = [];
    public int LastVersion { get; set; }
}

/// <summary>A response to create, as parsed from <c>POST /responses</c>.</summary>
internal sealed class ResponseSpec
{
    public string? AgentName { get; init; }
    public string? AgentVersion { get; init; }
    public string? Model { get; init; }
    public string? Instructions { get; init; }
    public IReadOnlyList<ToolSpec>? Tools { get; init; }
    public string? ConversationId { get; init; }
    public string? PreviousResponseId { get; init; }
    public IReadOnlyList<ItemSpec> Input { get; init; } = [];
    public bool Background { get; init; }
    public bool Store { get; init; } = true;
    public Dictionary<string, string>? Metadata { get; init; }
    public int? MaxOutputTokens { get; init; }
    public bool? ParallelToolCalls { get; init; }
    public double? Temperature { get; init; }
    public double? TopP { get; init; }
    public RunFault Fault { get; init; }

    /// <summary>A stream (the response's event log) that follows the response from creation.</summary>
    public IRunObserver? Observer { get; set; }
}

/// <summary>
/// The Responses-protocol side of a run (<see cref="RunRecord.Response"/>): what the response was asked with,
/// the context it sees, and what it produced. Guarded by the run's thread lock like the rest of the run.
/// </summary>
internal sealed class ResponseState
{
    public AgentVersionRecord? Agent { get; init; }
    public required bool Background { get; init; }
    public required bool Store { get; init; }
    public string? PreviousResponseId { get; init; }

    /// <summary>The conversation the response belongs to (also <see cref="RunRecord.Thread"/>), or null.</summary>
    public ThreadRecord? Conversation { get; init; }

    /// <summary>Items before this response's input: the conversation's items or the previous response chain, at creation.</summary>
    public required IReadOnlyList<ItemRecord> History { get; init; }
    public required IReadOnlyList<ItemRecord> Input { get; init; }
    public List<ItemRecord> Output { get; } = [];
}

/// <summary>Response statuses as the Responses protocol spells them (the six the OpenAI SDK parses).</summary>
internal static class ResponseStatus
{
    public const string Queued = "queued";
    public const string InProgress = "in_progress";
    public const string Completed = "completed";
    public const string Failed = "failed";
    public const string Cancelled = "cancelled";
    public const string Incomplete = "incomplete";

    public static readonly string[] All = [Queued, InProgress, Completed, Failed, Cancelled, Incomplete];

    /// <summary>The engine's run status seen through the Responses protocol (there is no requires_action/cancelling/expired).</summary>
    public static string FromRun(string status) => status switch
    {
        RunStatus.Queued => Queued,
        RunStatus.InProgress or RunStatus.RequiresAction => InProgress,
        RunStatus.Cancelling or RunStatus.Cancelled => Cancelled,
        RunStatus.Completed => Completed,
        RunStatus.Incomplete => Incomplete,
        _ => Failed,
    };
}
