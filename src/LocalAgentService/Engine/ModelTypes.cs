using System.Text.Json;

namespace LocalAgentService.Engine;

/// <summary>A function tool as a model sees it.</summary>
internal sealed record ModelTool(string Name, string? Description, JsonElement? Parameters);

/// <summary>One function call requested by the model; <see cref="Arguments"/> is a JSON string.</summary>
internal sealed record ModelToolCall(string Id, string Name, string Arguments);

/// <summary>One conversation turn: <c>user</c>/<c>assistant</c> text, an assistant turn with tool calls, or a <c>tool</c> output.</summary>
internal sealed record ModelTurn(string Role, string Text, IReadOnlyList<ModelToolCall>? ToolCalls = null, string? ToolCallId = null);

/// <summary>Everything a model needs for one step of a run.</summary>
internal sealed record ModelRequest(
    string Model,
    string? Instructions,
    IReadOnlyList<ModelTool> Tools,
    IReadOnlyList<ModelTurn> Turns,
    bool ParallelToolCalls);

/// <summary>The model's answer: text, or tool calls to hand back to the client, plus token usage.</summary>
internal sealed record ModelResponse(string? Text, IReadOnlyList<ModelToolCall> ToolCalls, int PromptTokens, int CompletionTokens);

/// <summary>A backend that answers a run step (simulated or a real chat-completions endpoint).</summary>
internal interface IChatModel
{
    Task<ModelResponse> GenerateAsync(ModelRequest request, CancellationToken cancellationToken);
}

/// <summary>A model call that failed in a way the run should report (<c>last_error</c>).</summary>
internal sealed class ModelException(string code, string message, Exception? inner = null) : Exception(message, inner)
{
    public string Code { get; } = code;
}
