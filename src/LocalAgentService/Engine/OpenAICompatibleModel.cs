using System.ClientModel;
using OpenAI;
using OpenAI.Chat;

namespace LocalAgentService.Engine;

/// <summary>
/// A real LLM behind any chat-completions endpoint (Ollama, llama.cpp, vLLM, Azure OpenAI v1, OpenAI).
/// Instructions become the system message, thread messages user/assistant messages, this run's tool calls
/// and outputs assistant tool_calls / tool messages; function tools are passed as chat tools.
/// </summary>
internal sealed class OpenAICompatibleModel : IChatModel
{
    private readonly ChatClient client;

    public OpenAICompatibleModel(ModelEndpointOptions config, string assistantModel)
    {
        var endpoint = config.Endpoint ?? throw new ModelException("invalid_model", $"Model '{assistantModel}' is openai-compatible but has no Endpoint configured.");
        // Local servers ignore the key, but the SDK requires one.
        client = new ChatClient(
            config.UpstreamModel ?? assistantModel,
            new ApiKeyCredential(string.IsNullOrEmpty(config.ApiKey) ? "local" : config.ApiKey),
            new OpenAIClientOptions { Endpoint = endpoint });
    }

    public async Task<ModelResponse> GenerateAsync(ModelRequest request, CancellationToken cancellationToken)
    {
        var options = new ChatCompletionOptions();
        foreach (var tool in request.Tools)
        {
            var parameters = tool.Parameters is { } p ? BinaryData.FromString(p.GetRawText()) : BinaryData.FromString("{\"type\":\"object\",\"properties\":{}}");
            options.Tools.Add(ChatTool.CreateFunctionTool(tool.Name, tool.Description, parameters));
        }

        if (request.Tools.Count > 0)
        {
            options.AllowParallelToolCalls = request.ParallelToolCalls;
        }

        ChatCompletion completion;
        try
        {
            completion = (await client.CompleteChatAsync(ToChatMessages(request), options, cancellationToken)).Value;
        }
        catch (ClientResultException ex)
        {
            throw new ModelException(ex.Status == 429 ? "rate_limit_exceeded" : "server_error", $"Upstream model call failed ({ex.Status}): {ex.Message}", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new ModelException("server_error", $"Upstream model endpoint unreachable: {ex.Message}", ex);
        }

        int prompt = completion.Usage?.InputTokenCount ?? 0;
        int output = completion.Usage?.OutputTokenCount ?? 0;
        if (completion.ToolCalls.Count > 0)
        {
            var calls = completion.ToolCalls
                .Select(c => new ModelToolCall(c.Id, c.FunctionName, c.FunctionArguments.ToString()))
                .ToList();
            return new ModelResponse(null, calls, prompt, output);
        }

        string text = string.Concat(completion.Content.Where(c => c.Kind == ChatMessageContentPartKind.Text).Select(c => c.Text));
        return new ModelResponse(text, [], prompt, output);
    }

    internal static List<ChatMessage> ToChatMessages(ModelRequest request)
    {
        var messages = new List<ChatMessage>();
        if (!string.IsNullOrEmpty(request.Instructions))
        {
            messages.Add(new SystemChatMessage(request.Instructions));
        }

        foreach (var turn in request.Turns)
        {
            messages.Add(turn switch
            {
                { Role: "tool" } => new ToolChatMessage(turn.ToolCallId, turn.Text),
                { Role: "assistant", ToolCalls.Count: > 0 } => new AssistantChatMessage(
                    turn.ToolCalls.Select(c => ChatToolCall.CreateFunctionToolCall(c.Id, c.Name, BinaryData.FromString(c.Arguments)))),
                { Role: "assistant" } => new AssistantChatMessage(turn.Text),
                _ => new UserChatMessage(turn.Text),
            });
        }

        return messages;
    }
}
