using System.Text.Json;
using System.Text.RegularExpressions;
using LocalAgentService.Storage;
using Microsoft.AspNetCore.Http;

namespace LocalAgentService.Protocols.Classic;

/// <summary>Turns classic-protocol request bodies and query strings into store inputs, validating like the service.</summary>
internal static partial class ClassicRequests
{
    /// <summary>Per-message content limit (the service's documented 256,000 characters).</summary>
    public const int MaxContentChars = 256_000;

    public static AssistantSpec Assistant(RequestBody body) => new()
    {
        Model = body.String("model"),
        Name = body.String("name"),
        Description = body.String("description"),
        Instructions = body.String("instructions"),
        Tools = Tools(body, "tools"),
        ToolResources = body.Object("tool_resources"),
        Temperature = body.Number("temperature"),
        TopP = body.Number("top_p"),
        ResponseFormat = body.Get("response_format"),
        Metadata = Metadata(body),
    };

    public static RunSpec Run(RequestBody body, RunFault fault) =>
        new()
        {
            AssistantId = body.RequiredString("assistant_id"),
            Model = body.String("model"),
            Instructions = body.String("instructions"),
            AdditionalInstructions = body.String("additional_instructions"),
            AdditionalMessages = body.Array("additional_messages").Select((m, i) => Message(m, $"additional_messages[{i}]")).ToList(),
            Tools = Tools(body, "tools"),
            Metadata = Metadata(body),
            Temperature = body.Number("temperature"),
            TopP = body.Number("top_p"),
            MaxPromptTokens = PositiveInt(body, "max_prompt_tokens"),
            MaxCompletionTokens = PositiveInt(body, "max_completion_tokens"),
            TruncationStrategy = body.Object("truncation_strategy"),
            ToolChoice = body.Get("tool_choice"),
            ResponseFormat = body.Get("response_format"),
            ParallelToolCalls = body.Boolean("parallel_tool_calls"),
            Fault = fault,
        };

    public static IReadOnlyList<MessageSpec> Messages(RequestBody body, string name) =>
        body.Array(name).Select((m, i) => Message(m, $"{name}[{i}]")).ToList();

    public static MessageSpec Message(JsonElement element, string path = "")
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw RequestBody.WrongType(path.Length == 0 ? "body" : path, "an object", element);
        }

        var body = new RequestBody(element);
        string prefix = path.Length == 0 ? "" : path + ".";
        string role = body.Get("role") is { } r ? RequestBody.ExpectString(r, prefix + "role") : throw Missing(prefix + "role");
        if (role is not ("user" or "assistant"))
        {
            throw ServiceException.Invalid($"Invalid value for '{prefix}role': '{role}'. Supported values are: 'user' and 'assistant'.", prefix + "role", "invalid_value");
        }

        var content = CheckLength(Content(body.Get("content") ?? throw Missing(prefix + "content"), prefix + "content"), prefix + "content");
        var attachments = body.Get("attachments") is { } a
            ? a.ValueKind == JsonValueKind.Array ? a : throw RequestBody.WrongType(prefix + "attachments", "an array", a)
            : (JsonElement?)null;
        return new MessageSpec(role, content, attachments, Metadata(body, prefix + "metadata") ?? []);
    }

    public static Dictionary<string, string>? Metadata(RequestBody body, string name = "metadata")
    {
        var element = body.Get(name.Contains('.', StringComparison.Ordinal) ? "metadata" : name);
        if (element is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Object)
        {
            throw RequestBody.WrongType(name, "an object", value);
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in value.EnumerateObject())
        {
            string text = RequestBody.ExpectString(property.Value, $"{name}.{property.Name}");
            if (property.Name.Length > 64 || text.Length > 512)
            {
                throw ServiceException.Invalid($"Invalid '{name}': keys are at most 64 characters and values at most 512.", name);
            }

            result[property.Name] = text;
        }

        return result.Count > 16
            ? throw ServiceException.Invalid($"Invalid '{name}': at most 16 key-value pairs are allowed.", name)
            : result;
    }

    public static PageQuery Page(HttpRequest request)
    {
        var query = request.Query;
        int limit = 20;
        if (query.TryGetValue("limit", out var l) && (!int.TryParse(l, out limit) || limit is < 1 or > 100))
        {
            throw ServiceException.Invalid($"Invalid 'limit': expected an integer between 1 and 100, got '{l}'.", "limit", "invalid_value");
        }

        bool descending = true;
        if (query.TryGetValue("order", out var o))
        {
            descending = o.ToString() switch
            {
                "desc" => true,
                "asc" => false,
                _ => throw ServiceException.Invalid($"Invalid 'order': '{o}'. Supported values are: 'asc' and 'desc'.", "order", "invalid_value"),
            };
        }

        return new PageQuery(limit, descending, NonEmpty(query["after"]), NonEmpty(query["before"]));
    }

    private static string? NonEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static List<ContentPart> Content(JsonElement content, string name)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            return [new ContentPart("text", content.GetString(), null)];
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw RequestBody.WrongType(name, "a string or an array of content parts", content);
        }

        var parts = new List<ContentPart>();
        int i = 0;
        foreach (var item in content.EnumerateArray())
        {
            string path = $"{name}[{i++}]";
            var block = item.ValueKind == JsonValueKind.Object ? new RequestBody(item) : throw RequestBody.WrongType(path, "an object", item);
            string type = block.Get("type") is { } t ? RequestBody.ExpectString(t, path + ".type") : throw Missing(path + ".type");
            parts.Add(type switch
            {
                "text" => new ContentPart("text", block.Get("text") is { } x ? RequestBody.ExpectString(x, path + ".text") : throw Missing(path + ".text"), null),
                "image_file" or "image_url" => new ContentPart(type, null, item.Clone()),
                _ => throw ServiceException.Invalid($"Invalid value for '{path}.type': '{type}'. Supported values are: 'text', 'image_file' and 'image_url'.", path + ".type", "invalid_value"),
            });
        }

        return parts.Count == 0 ? throw ServiceException.Invalid($"Invalid '{name}': empty array.", name, "empty_array") : parts;
    }

    private static List<ToolSpec>? Tools(RequestBody body, string name)
    {
        if (body.Get(name) is null)
        {
            return null;
        }

        var tools = new List<ToolSpec>();
        int i = 0;
        foreach (var item in body.Array(name))
        {
            string path = $"{name}[{i++}]";
            var tool = item.ValueKind == JsonValueKind.Object ? new RequestBody(item) : throw RequestBody.WrongType(path, "an object", item);
            string type = tool.Get("type") is { } t ? RequestBody.ExpectString(t, path + ".type") : throw Missing(path + ".type");
            if (type != "function")
            {
                tools.Add(new ToolSpec(type, null, null, null, item.Clone()));
                continue;
            }

            var function = tool.Object("function") is { } f ? new RequestBody(f) : throw Missing(path + ".function");
            string fname = function.Get("name") is { } n ? RequestBody.ExpectString(n, path + ".function.name") : throw Missing(path + ".function.name");
            CheckFunctionName(fname, path + ".function.name");
            string? description = function.Get("description") is { } d ? RequestBody.ExpectString(d, path + ".function.description") : null;
            var parameters = function.Get("parameters") is { } p
                ? p.ValueKind == JsonValueKind.Object ? p.Clone() : throw RequestBody.WrongType(path + ".function.parameters", "an object", p)
                : (JsonElement?)null;
            tools.Add(new ToolSpec(type, fname, description, parameters, item.Clone()));
        }

        if (tools.Count > 128)
        {
            throw ServiceException.Invalid($"Invalid '{name}': at most 128 tools are allowed.", name);
        }

        return tools;
    }

    private static int? PositiveInt(RequestBody body, string name) => body.Integer(name) is { } value
        ? value >= 1 ? value : throw ServiceException.Invalid($"Invalid '{name}': must be at least 1.", name, "invalid_value")
        : null;

    /// <summary>Message content (either protocol) is at most <see cref="MaxContentChars"/> characters of text.</summary>
    public static List<ContentPart> CheckLength(List<ContentPart> content, string param) =>
        content.Sum(c => c.Text?.Length ?? 0) > MaxContentChars
            ? throw ServiceException.Invalid($"Invalid '{param}': string too long. Expected a string with maximum length {MaxContentChars}.", param, "string_above_max_length")
            : content;

    /// <summary>Function tool names (either protocol): 1–64 of letters, digits, '_' and '-'.</summary>
    public static void CheckFunctionName(string name, string param)
    {
        if (!FunctionName().IsMatch(name))
        {
            throw ServiceException.Invalid($"Invalid '{param}': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{{1,64}}$'.", param, "invalid_value");
        }
    }

    private static ServiceException Missing(string name) => RequestBody.Missing(name);

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex FunctionName();
}
