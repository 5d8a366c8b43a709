using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LocalAgentService.Engine;

/// <summary>
/// The simulated model's answer once tool outputs are back (rule 1 in README.md): built from the outputs of the
/// latest batch, in call order — an error output says the tool failed and why, a calculator's number becomes
/// <c>expression = value</c>, a clock's timestamp becomes the time; anything else is quoted.
/// </summary>
internal static partial class SimulatedToolAnswer
{
    private static readonly string[] ResultNames = ["value", "result", "answer", "total"];
    private static readonly string[] DayNames = ["dayOfWeek", "weekday", "day"];

    /// <summary>The answer to the trailing tool turns of <paramref name="request"/>.</summary>
    public static string Compose(string label, ModelRequest request)
    {
        // The latest batch = trailing tool turns; the calls come from the assistant turn that asked for them.
        var turns = request.Turns;
        int first = turns.Count;
        while (first > 0 && turns[first - 1].Role == "tool")
        {
            first--;
        }

        var calls = turns.Take(first).LastOrDefault(t => t.ToolCalls is not null)?.ToolCalls?
            .DistinctBy(c => c.Id).ToDictionary(c => c.Id, StringComparer.Ordinal) ?? [];
        var tools = request.Tools.DistinctBy(t => t.Name).ToDictionary(t => t.Name, StringComparer.Ordinal);
        var sentences = new List<string>();
        var quoted = new List<string>();
        foreach (var turn in turns.Skip(first))
        {
            var call = turn.ToolCallId is not null && calls.TryGetValue(turn.ToolCallId, out var c) ? c : null;
            string name = call?.Name ?? "tool";
            var kind = tools.TryGetValue(name, out var tool) ? SimulatedToolChoice.Classify(tool) : SimulatedToolKind.Other;
            // Plain text counts as a JSON string, so a bare timestamp or number is read too.
            var json = ParseJson(turn.Text) ?? JsonSerializer.SerializeToElement(turn.Text);
            string? sentence = Error(name, json) ?? kind switch
            {
                SimulatedToolKind.Calculator => Calculation(json, call),
                SimulatedToolKind.Clock => Time(name, json),
                _ => null,
            };
            if (sentence is null)
            {
                quoted.Add($"{name} returned \"{turn.Text}\"");
            }
            else
            {
                sentences.Add(sentence);
            }
        }

        if (quoted.Count > 0)
        {
            sentences.Add($"Based on the tool results: {string.Join("; ", quoted)}.");
        }

        return $"{label} {string.Join(" ", sentences)}";
    }

    /// <summary><c>{"error": "…"}</c> (or <c>{"error": {"message": "…"}}</c>) → "<c>name</c> failed: …".</summary>
    private static string? Error(string name, JsonElement output)
    {
        if (output.ValueKind != JsonValueKind.Object || !output.TryGetProperty("error", out var error))
        {
            return null;
        }

        string? why = error.ValueKind switch
        {
            JsonValueKind.String => error.GetString(),
            JsonValueKind.Object when error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String => m.GetString(),
            JsonValueKind.Null or JsonValueKind.Undefined or JsonValueKind.False => null,
            _ => error.GetRawText(),
        };
        return why is null ? null : $"The {name} tool failed: {why.TrimEnd('.')}.";
    }

    /// <summary>A number (bare, or a <c>value</c>/<c>result</c>/<c>answer</c>/<c>total</c> property) → "<c>expression</c> = <c>number</c>".</summary>
    private static string? Calculation(JsonElement output, ModelToolCall? call)
    {
        var number = output.ValueKind == JsonValueKind.Number
            ? output
            : output.ValueKind == JsonValueKind.Object
                ? ResultNames.Select(n => Property(output, n)).FirstOrDefault(p => p is { ValueKind: JsonValueKind.Number })
                : null;
        if (number is not { } value)
        {
            return null;
        }

        string? expression = (Property(output, "expression") is { ValueKind: JsonValueKind.String } e ? e.GetString() : null)
            ?? FirstStringArgument(call);
        return string.IsNullOrWhiteSpace(expression) ? $"The result is {value.GetRawText()}." : $"{expression} = {value.GetRawText()}.";
    }

    /// <summary>An ISO 8601 date-time (bare, or the first such string property) → the time it says, with the day of the week.</summary>
    private static string? Time(string name, JsonElement output)
    {
        var stamp = output.ValueKind == JsonValueKind.String
            ? output
            : output.ValueKind == JsonValueKind.Object
                ? output.EnumerateObject().Select(p => (JsonElement?)p.Value).FirstOrDefault(v => v is { ValueKind: JsonValueKind.String } s && IsoDateTime().IsMatch(s.GetString()!))
                : null;
        if (stamp is not { ValueKind: JsonValueKind.String } s
            || !IsoDateTime().IsMatch(s.GetString()!)
            || !DateTimeOffset.TryParse(s.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return null;
        }

        string day = output.ValueKind == JsonValueKind.Object
            && DayNames.Select(n => Property(output, n)).FirstOrDefault(p => p is { ValueKind: JsonValueKind.String }) is { } d
            ? d.GetString()!
            : time.DayOfWeek.ToString();
        string zone = time.Offset == TimeSpan.Zero ? "UTC" : "UTC" + time.ToString("zzz", CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture,
            $"The current time is {time:HH:mm:ss} {zone} on {day}, {time:yyyy-MM-dd} ({name} returned {s.GetString()}).");
    }

    /// <summary>The call's first string argument (the expression a calculator was given).</summary>
    private static string? FirstStringArgument(ModelToolCall? call) =>
        call is not null && ParseJson(call.Arguments) is { ValueKind: JsonValueKind.Object } arguments
            ? arguments.EnumerateObject().Select(p => p.Value).Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()).FirstOrDefault()
            : null;

    /// <summary>A property by name, ignoring case and <c>_</c> (<c>dayOfWeek</c> = <c>day_of_week</c>); null when <paramref name="obj"/> is no object.</summary>
    private static JsonElement? Property(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        string wanted = name.Replace("_", "", StringComparison.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            if (p.Name.Replace("_", "", StringComparison.Ordinal).Equals(wanted, StringComparison.OrdinalIgnoreCase))
            {
                return p.Value;
            }
        }

        return null;
    }

    private static JsonElement? ParseJson(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", RegexOptions.CultureInvariant)]
    private static partial Regex IsoDateTime();
}
