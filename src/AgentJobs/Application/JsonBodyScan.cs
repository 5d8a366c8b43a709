using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.Unicode;

namespace AgentJobs.Application;

/// <summary>
/// One pass over a JSON body before it is bound, for what binding would hide or report vaguely: a property name
/// given twice in one object (compared ignoring case, as the binder matches names, so <c>prompt</c> and
/// <c>Prompt</c> collide) at any depth, and a string that is not valid Unicode (an escaped unpaired surrogate such
/// as <c>\ud800</c>, or bytes that are not UTF-8). Problems name the field by its JSON path in the API's spelling
/// (<c>polling.initialDelayMs</c>, <c>tools[1]</c>). Malformed JSON is left to the deserializer, which reports it.
/// </summary>
internal static class JsonBodyScan
{
    static ReadOnlySpan<byte> Utf8Bom => [0xEF, 0xBB, 0xBF];

    /// <summary>The first problem in <paramref name="body"/>, or null; <paramref name="root"/> supplies the field names.</summary>
    public static ValidationProblem? FindProblem(ReadOnlySpan<byte> body, JsonTypeInfo root)
    {
        if (body.StartsWith(Utf8Bom))
        {
            body = body[Utf8Bom.Length..];
        }

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
        var frames = new Stack<Frame>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartObject:
                    case JsonTokenType.StartArray:
                        var (path, type) = NextValue(frames, root);
                        frames.Push(new Frame(path, type, reader.TokenType == JsonTokenType.StartArray));
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        frames.Pop();
                        break;
                    case JsonTokenType.PropertyName:
                        var frame = frames.Peek();
                        if (!TryGetString(ref reader, out var name) || name is null)
                        {
                            return NotUnicode(frame.Path.Length == 0 ? "body" : frame.Path, "a property name in it");
                        }

                        var property = frame.Type?.Kind == JsonTypeInfoKind.Object
                            ? frame.Type.Properties.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase))
                            : null;
                        var field = Join(frame.Path, property?.Name ?? name);
                        if (!frame.Names.TryAdd(name, name))
                        {
                            var first = frame.Names[name];
                            var spelling = first == name ? "" : $" (as '{first}' and '{name}')";
                            return new(field,
                                $"'{field}' is given more than once{spelling}; names are matched ignoring case, so send each field once.");
                        }

                        frame.ChildPath = field;
                        frame.ChildType = property is null ? null : root.Options.GetTypeInfo(property.PropertyType);
                        break;
                    case JsonTokenType.String:
                        var (valuePath, _) = NextValue(frames, root);
                        if (!TryGetString(ref reader, out _))
                        {
                            return NotUnicode(valuePath.Length == 0 ? "body" : valuePath, null, Utf8.IsValid(reader.ValueSpan));
                        }

                        break;
                    default:
                        NextValue(frames, root);
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed JSON: the deserializer reports it with its position.
        }

        return null;
    }

    /// <summary>The path and type of the value that starts now; in an array, counts it.</summary>
    static (string Path, JsonTypeInfo? Type) NextValue(Stack<Frame> frames, JsonTypeInfo root)
    {
        if (!frames.TryPeek(out var frame))
        {
            return ("", root);
        }

        if (!frame.IsArray)
        {
            return (frame.ChildPath ?? frame.Path, frame.ChildType);
        }

        var element = frame.Type is { Kind: JsonTypeInfoKind.Enumerable, ElementType: { } elementType } ? root.Options.GetTypeInfo(elementType) : null;
        return ($"{(frame.Path.Length == 0 ? "body" : frame.Path)}[{frame.Index++}]", element);
    }

    static bool TryGetString(ref Utf8JsonReader reader, out string? value)
    {
        try
        {
            value = reader.GetString();
            return true;
        }
        catch (InvalidOperationException)
        {
            value = null;
            return false;
        }
    }

    static ValidationProblem NotUnicode(string field, string? what, bool utf8Valid = true) => new(field,
        $"'{field}' is not valid Unicode{(what is null ? "" : $" ({what})")}: " +
        (utf8Valid
            ? "it has an escaped unpaired UTF-16 surrogate (such as \\ud800 without a following \\udc00..\\udfff), which is not valid UTF-16 text."
            : "its bytes are not valid UTF-8.") +
        " Send well-formed text.");

    static string Join(string parent, string name) => parent.Length == 0 ? name : $"{parent}.{name}";

    sealed class Frame(string path, JsonTypeInfo? type, bool isArray)
    {
        public string Path { get; } = path;

        public JsonTypeInfo? Type { get; } = type;

        public bool IsArray { get; } = isArray;

        /// <summary>Names seen in this object, ignoring case, with their first spelling.</summary>
        public Dictionary<string, string> Names { get; } = new(StringComparer.OrdinalIgnoreCase);

        public int Index { get; set; }

        public string? ChildPath { get; set; }

        public JsonTypeInfo? ChildType { get; set; }
    }
}
