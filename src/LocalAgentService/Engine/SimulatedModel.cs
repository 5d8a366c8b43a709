using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LocalAgentService.Storage;

namespace LocalAgentService.Engine;

/// <summary>
/// The deterministic model (no network). Rules, in order (documented in README.md):
/// 1. the latest turns are tool outputs → an answer built from them (<see cref="SimulatedToolAnswer"/>);
/// 2. the latest user message names function tools (exact name, word boundary) → one call per named tool
///    in order of mention, arguments = first JSON object in the message, else what rule 3 would give a calculator or
///    clock tool (e.g. the message's arithmetic), else minimal arguments from the tool's JSON schema;
/// 3. otherwise the offered tools the message is about (<see cref="SimulatedToolChoice"/>: time questions → clock
///    tools, arithmetic → calculator tools, keywords → other tools), in offered order;
/// 4. otherwise a reply derived from the message: a joke picked by a stable hash when it asks for one, else an echo.
/// Tool calls go out in one batch (only the first when parallel tool calls are off).
/// Every reply starts with <c>[simulated {model}]</c>.
/// </summary>
internal sealed class SimulatedModel
    : IChatModel
{
    private static readonly string[] Words =
        ["the", "agent", "writes", "durable", "text", "while", "every", "watcher", "reads", "it", "live", "and", "nothing", "is", "lost"];

    private static readonly string[] Jokes =
    [
        "Why did the developer go broke? Because he used up all his cache.",
        "Why do programmers prefer dark mode? Because light attracts bugs.",
        "How many programmers does it take to change a light bulb? None, that's a hardware problem.",
        "Why was the JavaScript developer sad? Because he didn't Node how to Express himself.",
        "A SQL query walks into a bar, walks up to two tables and asks: 'Can I join you?'",
        "Why did the functions stop calling each other? They had too many arguments.",
        "There are 10 kinds of people: those who understand binary and those who don't.",
        "Why do Java developers wear glasses? Because they don't C#.",
    ];

    public Task<ModelResponse> GenerateAsync(ModelRequest request, CancellationToken cancellationToken)
    {
        string label = $"[simulated {request.Model}]";
        int prompt = EstimateTokens(request);
        if (request.Turns.Count > 0 && request.Turns[^1].Role == "tool")
        {
            return Reply(SimulatedToolAnswer.Compose(label, request), prompt);
        }

        var user = request.Turns.LastOrDefault(t => t.Role == "user")?.Text ?? "";
        var named = NamedTools(request.Tools, user).ToList();
        var chosen = named.Count > 0
            ? named.Select(tool => (Tool: tool, Arguments: FirstJsonObject(user) ?? RuleThreeArguments(tool, user) ?? MinimalArguments(tool.Parameters))).ToList()
            : SimulatedToolChoice.Choose(request.Tools, user).ToList();
        if (chosen.Count > 0)
        {
            var calls = chosen
                .Take(request.ParallelToolCalls ? int.MaxValue : 1)
                .Select(c => new ModelToolCall(Ids.New(Ids.Call), c.Tool.Name, c.Arguments))
                .ToList();
            int completion = Tokens(calls.Sum(c => c.Name.Length + c.Arguments.Length));
            return Task.FromResult(new ModelResponse(null, calls, prompt, completion));
        }

        return Reply(AnswerText(label, user), prompt);
    }

    /// <summary>
    /// The arguments rule 3 would give a named calculator (the message's expression) or clock tool; other tools keep
    /// minimal arguments (the message text would not be a sensible value for them when it only names the tool).
    /// </summary>
    private static string? RuleThreeArguments(ModelTool tool, string user) =>
        SimulatedToolChoice.Classify(tool) == SimulatedToolKind.Other ? null : SimulatedToolChoice.Choose([tool], user).Select(c => c.Arguments).FirstOrDefault();

    public static int Tokens(int chars) => Math.Max(1, (chars + 3) / 4);

    private static Task<ModelResponse> Reply(string text, int prompt) =>
        Task.FromResult(new ModelResponse(text, [], prompt, Tokens(text.Length)));

    private static int EstimateTokens(ModelRequest request) =>
        Tokens((request.Instructions?.Length ?? 0)
            + request.Turns.Sum(t => t.Text.Length + (t.ToolCalls?.Sum(c => c.Name.Length + c.Arguments.Length) ?? 0)));

    private static string AnswerText(string label, string user)
    {
        if (user.Length == 0)
        {
            return $"{label} Hello! Send me a message and I will answer.";
        }

        // "write 1000 words": a long answer, to see and measure live text.
        if (Regex.Match(user, @"\bwrite (\d{1,5}) words\b", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant) is { Success: true } write)
        {
            int count = Math.Min(20_000, int.Parse(write.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            return $"{label} " + string.Join(' ', Enumerable.Range(1, count).Select(i => Words[(i * 7) % Words.Length] + (i % 12 == 0 ? "." : "")));
        }

        if (user.Contains("joke", StringComparison.OrdinalIgnoreCase))
        {
            return $"{label} Here's a joke: {Jokes[StableHash(user) % (uint)Jokes.Length]}";
        }

        string echo = user.Length > 200 ? user[..200] + "…" : user;
        return $"{label} You said: \"{echo}\"";
    }

    private static IEnumerable<ModelTool> NamedTools(IReadOnlyList<ModelTool> tools, string text) =>
        tools
            .Select(t => (Tool: t, Match: Regex.Match(text, $@"(?<![\w]){Regex.Escape(t.Name)}(?![\w])", RegexOptions.CultureInvariant)))
            .Where(x => x.Match.Success)
            .OrderBy(x => x.Match.Index)
            .Select(x => x.Tool)
            .DistinctBy(t => t.Name);

    /// <summary>The first complete JSON object embedded in <paramref name="text"/>, compacted; null when none.</summary>
    internal static string? FirstJsonObject(string text)
    {
        // Encoded once; '{' is a single byte in UTF-8, so each candidate is a slice, not a fresh copy of the rest.
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        for (int i = Array.IndexOf(bytes, (byte)'{'); i >= 0; i = Array.IndexOf(bytes, (byte)'{', i + 1))
        {
            try
            {
                var reader = new Utf8JsonReader(bytes.AsSpan(i));
                reader.Read();
                reader.Skip();
                return JsonNode.Parse(bytes.AsSpan(i, (int)reader.BytesConsumed))!.ToJsonString();
            }
            catch (JsonException)
            {
                // Not an object here; try the next brace.
            }
        }

        return null;
    }

    /// <summary>Arguments that satisfy the schema minimally: each required property with a type-appropriate default.</summary>
    internal static string MinimalArguments(JsonElement? schema) =>
        (schema is { ValueKind: JsonValueKind.Object } s ? DefaultFor(s, 0) as JsonObject : null)?.ToJsonString() ?? "{}";

    private static JsonNode? DefaultFor(JsonElement schema, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > 8)
        {
            return null;
        }

        if (schema.TryGetProperty("default", out var dflt))
        {
            return JsonNode.Parse(dflt.GetRawText());
        }

        if (schema.TryGetProperty("enum", out var values) && values.ValueKind == JsonValueKind.Array && values.GetArrayLength() > 0)
        {
            return JsonNode.Parse(values[0].GetRawText());
        }

        return SchemaType(schema) switch
        {
            "string" => JsonValue.Create(""),
            "integer" or "number" => JsonValue.Create(0),
            "boolean" => JsonValue.Create(false),
            "array" => new JsonArray(),
            "null" => null,
            _ => RequiredObject(schema, depth),
        };
    }

    private static JsonObject RequiredObject(JsonElement schema, int depth)
    {
        var result = new JsonObject();
        if (!schema.TryGetProperty("required", out var required) || required.ValueKind != JsonValueKind.Array)
        {
            return result;
        }

        schema.TryGetProperty("properties", out var properties);
        foreach (var name in required.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()!))
        {
            result[name] = properties.ValueKind == JsonValueKind.Object && properties.TryGetProperty(name, out var p)
                ? DefaultFor(p, depth + 1)
                : JsonValue.Create("");
        }

        return result;
    }

    private static string? SchemaType(JsonElement schema)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            return schema.TryGetProperty("properties", out _) ? "object" : null;
        }

        return type.ValueKind switch
        {
            JsonValueKind.String => type.GetString(),
            JsonValueKind.Array => type.EnumerateArray().Select(t => t.ToString()).FirstOrDefault(t => t != "null"),
            _ => null,
        };
    }

    /// <summary>FNV-1a over UTF-16 code units: stable across processes, unlike <see cref="string.GetHashCode()"/>.</summary>
    internal static uint StableHash(string text)
    {
        uint hash = 2166136261;
        foreach (char c in text)
        {
            hash = (hash ^ c) * 16777619;
        }

        return hash;
    }
}
