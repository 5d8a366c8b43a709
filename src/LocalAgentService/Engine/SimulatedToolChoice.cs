using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LocalAgentService.Engine;

/// <summary>What the simulated model takes an offered tool to be, from its name (first) or description.</summary>
internal enum SimulatedToolKind
{
    /// <summary>Anything else: chosen by keyword (rule 3c).</summary>
    Other,

    /// <summary>Tells the current time (e.g. <c>get_utc_now</c>): chosen for time/date questions only.</summary>
    Clock,

    /// <summary>Evaluates arithmetic (e.g. <c>calculate</c>): chosen for arithmetic expressions only.</summary>
    Calculator,
}

/// <summary>
/// How the simulated model picks tools when the user does not name them: the message is matched against each
/// offered tool's name, description and JSON parameter schema, like a model would, but deterministically
/// (rules documented in README.md, "Simulated model rules"). Only offered tools are ever returned.
/// </summary>
internal static partial class SimulatedToolChoice
{
    private static readonly string[] CalculatorWords =
        ["calculate", "calculator", "calc", "arithmetic", "math", "maths", "mathematical", "expression", "evaluate", "evaluates", "compute", "computes"];

    private static readonly string[] ClockWords = ["time", "date", "clock", "now", "today", "datetime", "timestamp"];

    /// <summary>Arguments are written as a model writes them: <c>+</c>, <c>'</c> and non-ASCII letters as they are, not <c>\u002B</c>.</summary>
    private static readonly JsonSerializerOptions ArgumentsJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Parameter name/description words that say "put the expression here".</summary>
    private static readonly string[] ExpressionParameterWords = ["expression", "expr", "formula", "equation", "calculation", "arithmetic", "math"];

    /// <summary>Words too common to identify a tool (rule 3c keywords never include them).</summary>
    private static readonly HashSet<string> StopWords = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "and", "or", "but", "not", "no", "of", "in", "on", "at", "to", "for", "from", "by", "with", "without",
        "into", "onto", "over", "under", "about", "as", "is", "are", "was", "were", "be", "been", "being", "it", "its", "this",
        "that", "these", "those", "there", "here", "what", "when", "where", "which", "who", "whom", "whose", "how", "why",
        "get", "gets", "set", "sets", "list", "lists", "fetch", "fetches", "find", "finds", "make", "makes", "do", "does",
        "doing", "done", "run", "runs", "call", "calls", "use", "uses", "using", "used", "return", "returns", "returned",
        "give", "gives", "tool", "tools", "function", "functions", "value", "values", "data", "info", "information",
        "result", "results", "input", "output", "current", "given", "specified", "provided", "some", "any", "all", "each",
        "every", "also", "only", "just", "like", "than", "then", "them", "they", "their", "your", "yours", "you", "will",
        "would", "should", "could", "can", "may", "might", "must", "have", "has", "had", "more", "most", "less", "very",
        "such", "other", "else", "instead", "yourself", "exactly", "please", "name", "names", "string", "number", "numbers",
        "text", "object", "json", "new", "one", "two", "via", "per", "etc", "user", "users", "api", "helper", "tells", "tell",
    };

    /// <summary>The tools the rules choose for <paramref name="message"/>, in offered order, each with its arguments.</summary>
    public static IEnumerable<(ModelTool Tool, string Arguments)> Choose(IReadOnlyList<ModelTool> tools, string message)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            yield break;
        }

        bool timeQuestion = TimeQuestion().IsMatch(message);
        string? expression = FindExpression(message);
        var messageStems = Words(message).Select(Stem).ToHashSet(StringComparer.Ordinal);
        foreach (var tool in tools.DistinctBy(t => t.Name))
        {
            switch (Classify(tool))
            {
                case SimulatedToolKind.Clock when timeQuestion:
                    yield return (tool, ClockArguments(tool.Parameters));
                    break;
                case SimulatedToolKind.Calculator when expression is not null && ExpressionParameter(tool.Parameters) is { } parameter:
                    var arguments = MinimalObject(tool.Parameters);
                    arguments[parameter] = expression;
                    yield return (tool, arguments.ToJsonString(ArgumentsJson));
                    break;
                case SimulatedToolKind.Other when Keywords(tool).Any(messageStems.Contains):
                    yield return (tool, SimulatedModel.FirstJsonObject(message) ?? FilledArguments(tool.Parameters, message));
                    break;
            }
        }
    }

    /// <summary>Calculator words, then clock words, in the tool's name; failing that, in its description.</summary>
    public static SimulatedToolKind Classify(ModelTool tool)
    {
        foreach (var words in new[] { Words(tool.Name), Words(tool.Description ?? "") })
        {
            if (words.Any(w => CalculatorWords.Contains(w)))
            {
                return SimulatedToolKind.Calculator;
            }

            if (words.Any(w => ClockWords.Contains(w)))
            {
                return SimulatedToolKind.Clock;
            }
        }

        return SimulatedToolKind.Other;
    }

    /// <summary>
    /// The first arithmetic expression in the text, compacted to symbols (<c>12 divided by 4</c> → <c>12 / 4</c>):
    /// a run of digits, <c>. ( ) + - * / % ^</c> and spaces with an operator between two operands; null when none.
    /// A date such as <c>2024-01-15</c> is not an expression.
    /// </summary>
    internal static string? FindExpression(string text)
    {
        string normalized = WordOperator().Replace(text, m => OperatorSymbol(m.Groups["op"].Value));
        foreach (Match run in ExpressionRun().Matches(normalized))
        {
            string candidate = Balance(run.Value.Trim().TrimEnd('.', '+', '-', '*', '/', '%', '^', ' ')).Trim();
            if (BinaryOperation().IsMatch(candidate) && !DateLike().IsMatch(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string OperatorSymbol(string word) => Regex.Replace(word.ToLowerInvariant(), @"\s+", " ") switch
    {
        "divided by" or "÷" => " / ",
        "plus" => " + ",
        "minus" => " - ",
        "mod" or "modulo" => " % ",
        "to the power of" => " ^ ",
        _ => " * ", // times, multiplied by, x, ×
    };

    /// <summary>Drops a ')' with no '(' before it and a '(' never closed, so "(see 2+3)" yields "2+3".</summary>
    private static string Balance(string text)
    {
        var keep = new bool[text.Length];
        var open = new Stack<int>();
        for (int i = 0; i < text.Length; i++)
        {
            keep[i] = true;
            if (text[i] == '(')
            {
                open.Push(i);
            }
            else if (text[i] == ')' && !open.TryPop(out _))
            {
                keep[i] = false;
            }
        }

        foreach (int i in open)
        {
            keep[i] = false;
        }

        return string.Concat(text.Where((_, i) => keep[i]));
    }

    /// <summary>The string parameter that takes the expression: one named/described as an expression, else the first required string, else the first string.</summary>
    private static string? ExpressionParameter(JsonElement? schema)
    {
        var strings = Properties(schema).Where(p => SchemaType(p.Schema) == "string").ToList();
        return strings.FirstOrDefault(p => Words(p.Name).Concat(Words(Description(p.Schema))).Any(w => ExpressionParameterWords.Contains(w))).Name
            ?? strings.FirstOrDefault(p => p.Required).Name
            ?? strings.FirstOrDefault().Name;
    }

    /// <summary>Minimal arguments; a required string parameter about a time zone (name contains "zone", or is "tz") gets <c>"UTC"</c>.</summary>
    private static string ClockArguments(JsonElement? schema)
    {
        var arguments = MinimalObject(schema);
        foreach (var (name, property, required) in Properties(schema))
        {
            if (required && IsFreeString(property) && (name.Contains("zone", StringComparison.OrdinalIgnoreCase) || name.Equals("tz", StringComparison.OrdinalIgnoreCase)))
            {
                arguments[name] = "UTC";
            }
        }

        return arguments.ToJsonString(ArgumentsJson);
    }

    /// <summary>
    /// Minimal arguments, with each required free string parameter (no default, no enum), in schema order, taken
    /// from the message: the next double-quoted text; when none is left, the words after the last
    /// in/for/of/about/at/on/from/to/near/called/named up to the end of that sentence (a leading the/a/an dropped);
    /// failing that, the whole message without trailing punctuation (at most 200 characters).
    /// </summary>
    private static string FilledArguments(JsonElement? schema, string message)
    {
        var arguments = MinimalObject(schema);
        var quoted = new Queue<string>(Quoted().Matches(message).Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value));
        string fallback = Subject(message);
        foreach (var (name, property, required) in Properties(schema))
        {
            if (required && IsFreeString(property))
            {
                arguments[name] = quoted.TryDequeue(out var q) ? q : fallback;
            }
        }

        return arguments.ToJsonString(ArgumentsJson);
    }

    private static string Subject(string message)
    {
        var prepositions = Preposition().Matches(message);
        if (prepositions.Count > 0)
        {
            var last = prepositions[^1];
            string rest = message[(last.Index + last.Length)..];
            int end = rest.IndexOfAny(['.', '?', '!', ',', ';', ':', '\n']);
            string phrase = LeadingArticle().Replace((end < 0 ? rest : rest[..end]).Trim(), "");
            if (phrase.Length > 0)
            {
                return phrase;
            }
        }

        string whole = message.Trim().TrimEnd('?', '.', '!', ' ');
        return whole.Length > 200 ? whole[..200] : whole;
    }

    /// <summary>Name words (≥ 3 letters) and description words (≥ 4 letters) that are not stop words, as stems.</summary>
    private static IEnumerable<string> Keywords(ModelTool tool) =>
        Words(tool.Name).Where(w => w.Length >= 3)
            .Concat(Words(tool.Description ?? "").Where(w => w.Length >= 4))
            .Where(w => !StopWords.Contains(w))
            .Select(Stem)
            .Distinct(StringComparer.Ordinal);

    /// <summary>Lower-case words; identifiers split at <c>_</c>, <c>-</c>, digits and camelCase (<c>getUtcNow</c> → get, utc, now).</summary>
    internal static IEnumerable<string> Words(string text) =>
        WordPart().Matches(text).Select(m => m.Value.ToLowerInvariant());

    /// <summary>Singular and plural compare equal: <c>cities</c> → <c>city</c>, <c>flights</c> → <c>flight</c> (not <c>-ss</c>).</summary>
    private static string Stem(string word) =>
        word.Length > 4 && word.EndsWith("ies", StringComparison.Ordinal) ? word[..^3] + "y"
        : word.Length > 3 && word.EndsWith('s') && !word.EndsWith("ss", StringComparison.Ordinal) ? word[..^1]
        : word;

    private static JsonObject MinimalObject(JsonElement? schema) =>
        JsonNode.Parse(SimulatedModel.MinimalArguments(schema))!.AsObject();

    private static IEnumerable<(string Name, JsonElement Schema, bool Required)> Properties(JsonElement? schema)
    {
        if (schema is not { ValueKind: JsonValueKind.Object } s
            || !s.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }

        var required = s.TryGetProperty("required", out var r) && r.ValueKind == JsonValueKind.Array
            ? r.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()!).ToHashSet(StringComparer.Ordinal)
            : [];
        foreach (var property in properties.EnumerateObject())
        {
            yield return (property.Name, property.Value, required.Contains(property.Name));
        }
    }

    private static bool IsFreeString(JsonElement property) =>
        SchemaType(property) == "string" && !property.TryGetProperty("default", out _) && !property.TryGetProperty("enum", out _);

    private static string? SchemaType(JsonElement schema)
    {
        if (schema.ValueKind != JsonValueKind.Object || !schema.TryGetProperty("type", out var type))
        {
            return null;
        }

        return type.ValueKind switch
        {
            JsonValueKind.String => type.GetString(),
            JsonValueKind.Array => type.EnumerateArray().Select(t => t.ToString()).FirstOrDefault(t => t != "null"),
            _ => null,
        };
    }

    private static string Description(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString()! : "";

    /// <summary>A question about the current time, date or day (see README).</summary>
    [GeneratedRegex(@"\b(what|which)\b[\w\s'’]{0,20}?\b(time|date|day|weekday)\b|\b(current|today'?s|today’s)\s+(time|date|day|weekday)\b|\btell\s+me\s+the\s+(time|date|day)\b|\btime\s+is\s+it\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex TimeQuestion();

    [GeneratedRegex(@"(?<=[\d)])(?:\s*(?<op>[×÷])\s*|\s+(?<op>divided\s+by|multiplied\s+by|times|plus|minus|modulo|mod|to\s+the\s+power\s+of|x)\s+|(?<op>x))(?=\s*[(\-]*\s*\d)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex WordOperator();

    [GeneratedRegex(@"[\d.()+\-*/%^ ]+", RegexOptions.CultureInvariant)]
    private static partial Regex ExpressionRun();

    [GeneratedRegex(@"[\d)]\s*[+\-*/%^]\s*[(\-]*\s*\.?\d", RegexOptions.CultureInvariant)]
    private static partial Regex BinaryOperation();

    [GeneratedRegex(@"^\d{4}-\d{1,2}-\d{1,2}$", RegexOptions.CultureInvariant)]
    private static partial Regex DateLike();

    [GeneratedRegex("\"([^\"]+)\"|“([^”]+)”", RegexOptions.CultureInvariant)]
    private static partial Regex Quoted();

    [GeneratedRegex(@"\b(in|for|of|about|at|on|from|to|near|called|named)\s+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Preposition();

    [GeneratedRegex(@"^(the|a|an)\s+", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex LeadingArticle();

    [GeneratedRegex(@"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", RegexOptions.CultureInvariant)]
    private static partial Regex WordPart();
}
