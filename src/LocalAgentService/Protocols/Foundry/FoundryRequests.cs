using System.Text.Json;
using System.Text.RegularExpressions;
using LocalAgentService.Protocols.Classic;
using LocalAgentService.Storage;

namespace LocalAgentService.Protocols.Foundry;

/// <summary>Foundry agent definitions and Responses/Conversations request bodies → store inputs, validating like the service.</summary>
internal static partial class FoundryRequests
{
    /// <summary>A prompt agent's create-version body, parsed.</summary>
    public sealed record AgentVersionBody(string Model, string? Instructions, IReadOnlyList<ToolSpec> Tools, JsonElement Definition, string? Description, Dictionary<string, string>? Metadata);

    /// <summary>Agent names: alphanumeric at both ends, hyphens inside, at most 63 characters.</summary>
    public static string AgentName(string? name, string param = "agent_name") =>
        name is not null && AgentNamePattern().IsMatch(name)
            ? name
            : throw ServiceException.Invalid(
                $"Invalid agent name '{name}': it must start and end with a letter or digit, may contain hyphens in between, and be at most 63 characters.",
                param, "invalid_value");

    public static AgentVersionBody AgentVersion(RequestBody body)
    {
        var definitionElement = body.Object("definition") ?? throw Missing("definition");
        var definition = new RequestBody(definitionElement);
        string kind = definition.String("kind") ?? throw Missing("definition.kind");
        if (kind != "prompt")
        {
            throw ServiceException.Invalid($"Invalid value for 'definition.kind': '{kind}'. The local agent service runs 'prompt' agents only.", "definition.kind", "invalid_value");
        }

        string model = definition.String("model") ?? throw Missing("definition.model");
        return new AgentVersionBody(model, definition.String("instructions"), Tools(definition, "tools", "definition.tools") ?? [],
            definitionElement.Clone(), body.String("description"), ClassicRequests.Metadata(body));
    }

    public static ResponseSpec Response(RequestBody body, RunFault fault)
    {
        var reference = body.Object("agent_reference") ?? body.Object("agent");
        string? agentName = null, agentVersion = null;
        if (reference is { } r)
        {
            var agent = new RequestBody(r);
            agentName = agent.String("name") ?? throw Missing("agent_reference.name");
            agentVersion = agent.String("version");
        }

        string? conversation = body.Get("conversation") is { } c
            ? c.ValueKind == JsonValueKind.Object
                ? new RequestBody(c).String("id") ?? throw Missing("conversation.id")
                : RequestBody.ExpectString(c, "conversation")
            : null;
        bool background = body.Boolean("background") ?? false;
        bool store = body.Boolean("store") ?? true;
        if (background && !store)
        {
            throw ServiceException.Invalid("Background mode requires store=true.", "store", "invalid_value");
        }

        return new ResponseSpec
        {
            AgentName = agentName,
            AgentVersion = agentVersion,
            Model = body.String("model"),
            Instructions = body.String("instructions"),
            Tools = Tools(body, "tools", "tools"),
            ConversationId = conversation,
            PreviousResponseId = body.String("previous_response_id"),
            Input = Input(body),
            Background = background,
            Store = store,
            Metadata = ClassicRequests.Metadata(body),
            MaxOutputTokens = body.Integer("max_output_tokens") is { } max
                ? max >= 1 ? max : throw ServiceException.Invalid("Invalid 'max_output_tokens': must be at least 1.", "max_output_tokens", "invalid_value")
                : null,
            ParallelToolCalls = body.Boolean("parallel_tool_calls"),
            Temperature = body.Number("temperature"),
            TopP = body.Number("top_p"),
            Fault = fault,
        };
    }

    /// <summary><c>input</c>: a string (one user message) or an array of items.</summary>
    public static IReadOnlyList<ItemSpec> Input(RequestBody body) => body.Get("input") switch
    {
        null => [],
        { ValueKind: JsonValueKind.String } text => [new ItemSpec("message", "user", [new ContentPart("input_text", text.GetString(), null)])],
        { ValueKind: JsonValueKind.Array } => Items(body, "input"),
        { } other => throw RequestBody.WrongType("input", "a string or an array of items", other),
    };

    public static List<ItemSpec> Items(RequestBody body, string name) =>
        body.Array(name).Select((item, i) => Item(item, $"{name}[{i}]")).ToList();

    private static ItemSpec Item(JsonElement element, string path)
    {
        var item = element.ValueKind == JsonValueKind.Object ? new RequestBody(element) : throw RequestBody.WrongType(path, "an object", element);
        string type = item.String("type") ?? (item.Get("role") is not null ? "message" : throw Missing(path + ".type"));
        switch (type)
        {
            case "message":
                string role = item.String("role") ?? throw Missing(path + ".role");
                if (role is not ("user" or "assistant" or "system" or "developer"))
                {
                    throw ServiceException.Invalid($"Invalid value for '{path}.role': '{role}'. Supported values are: 'user', 'assistant', 'system' and 'developer'.", path + ".role", "invalid_value");
                }

                var content = ClassicRequests.CheckLength(Content(item.Get("content") ?? throw Missing(path + ".content"), path + ".content", role), path + ".content");
                return new ItemSpec("message", role, content);
            case "function_call":
                return new ItemSpec(type,
                    CallId: CallId(item, path),
                    Name: item.String("name") ?? throw Missing(path + ".name"),
                    Arguments: item.String("arguments") ?? throw Missing(path + ".arguments"));
            case "function_call_output":
                return new ItemSpec(type, CallId: CallId(item, path), Output: Output(item.Get("output") ?? throw Missing(path + ".output"), path + ".output"));
            default:
                return new ItemSpec(type, Raw: element.Clone());
        }
    }

    private static string CallId(RequestBody item, string path)
    {
        string callId = item.String("call_id") ?? throw Missing(path + ".call_id");
        return callId.Length is >= 1 and <= 64
            ? callId
            : throw ServiceException.Invalid($"Invalid '{path}.call_id': expected 1 to 64 characters.", path + ".call_id", "invalid_value");
    }

    /// <summary>A function output: a string, or content parts whose text is joined.</summary>
    private static string Output(JsonElement output, string path) => output.ValueKind switch
    {
        JsonValueKind.String => output.GetString()!,
        JsonValueKind.Array => string.Concat(output.EnumerateArray()
            .Where(p => p.ValueKind == JsonValueKind.Object && p.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
            .Select(p => p.GetProperty("text").GetString())),
        _ => throw RequestBody.WrongType(path, "a string or an array of content parts", output),
    };

    private static List<ContentPart> Content(JsonElement content, string path, string role)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return [new ContentPart(role == "assistant" ? "output_text" : "input_text", content.GetString(), null)];
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw RequestBody.WrongType(path, "a string or an array of content parts", content);
        }

        var parts = new List<ContentPart>();
        int i = 0;
        foreach (var element in content.EnumerateArray())
        {
            string partPath = $"{path}[{i++}]";
            var part = element.ValueKind == JsonValueKind.Object ? new RequestBody(element) : throw RequestBody.WrongType(partPath, "an object", element);
            string type = part.String("type") ?? throw Missing(partPath + ".type");
            parts.Add(type is "input_text" or "output_text" or "text"
                ? new ContentPart(type == "text" ? "input_text" : type, part.String("text") ?? throw Missing(partPath + ".text"), null)
                : new ContentPart(type, null, element.Clone()));
        }

        return parts;
    }

    /// <summary>Responses-shape tools: function tools are flat (<c>name</c>, <c>description</c>, <c>parameters</c>, <c>strict</c>).</summary>
    private static List<ToolSpec>? Tools(RequestBody body, string name, string param)
    {
        if (body.Get(name) is null)
        {
            return null;
        }

        var tools = new List<ToolSpec>();
        int i = 0;
        foreach (var element in body.Array(name))
        {
            string path = $"{param}[{i++}]";
            var tool = element.ValueKind == JsonValueKind.Object ? new RequestBody(element) : throw RequestBody.WrongType(path, "an object", element);
            string type = tool.String("type") ?? throw Missing(path + ".type");
            if (type != "function")
            {
                tools.Add(new ToolSpec(type, null, null, null, element.Clone()));
                continue;
            }

            string fname = tool.String("name") ?? throw Missing(path + ".name");
            ClassicRequests.CheckFunctionName(fname, path + ".name");
            tool.Boolean("strict");
            tools.Add(new ToolSpec(type, fname, tool.String("description"), tool.Object("parameters")?.Clone(), element.Clone()));
        }

        return tools.Count > 128 ? throw ServiceException.Invalid($"Invalid '{param}': at most 128 tools are allowed.", param) : tools;
    }

    private static ServiceException Missing(string name) => RequestBody.Missing(name);

    [GeneratedRegex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex AgentNamePattern();
}
