using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace LocalAgentService.Protocols;

/// <summary>
/// A request's JSON object with typed accessors that turn every client mistake (malformed JSON, wrong types,
/// missing fields) into a 400 with the offending parameter named, never a 500.
/// </summary>
internal sealed class RequestBody(JsonElement root)
{
    public JsonElement Root { get; } = root;

    public static async Task<RequestBody> ReadAsync(HttpRequest request)
    {
        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, request.HttpContext.RequestAborted);
        if (buffer.Length == 0)
        {
            return Empty;
        }

        try
        {
            using var document = JsonDocument.Parse(buffer.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw ServiceException.Invalid("The request body must be a JSON object.");
            }

            return new RequestBody(document.RootElement.Clone());
        }
        catch (JsonException)
        {
            throw ServiceException.Invalid(
                "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)");
        }
    }

    public static RequestBody Empty { get; } = new(JsonDocument.Parse("{}").RootElement.Clone());

    public JsonElement? Get(string name) =>
        Root.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    public string? String(string name) => Get(name) is { } v ? ExpectString(v, name) : null;

    public string RequiredString(string name) => String(name) ?? throw Missing(name);

    public static ServiceException Missing(string name) =>
        ServiceException.Invalid($"Missing required parameter: '{name}'.", name, "missing_required_parameter");

    public double? Number(string name) => Get(name) is { } v
        ? v.ValueKind == JsonValueKind.Number ? v.GetDouble() : throw WrongType(name, "a number", v)
        : null;

    public int? Integer(string name) => Get(name) is { } v
        ? v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i) ? i : throw WrongType(name, "an integer", v)
        : null;

    public bool? Boolean(string name) => Get(name) is { } v
        ? v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : throw WrongType(name, "a boolean", v)
        : null;

    public JsonElement? Object(string name) => Get(name) is { } v
        ? v.ValueKind == JsonValueKind.Object ? v : throw WrongType(name, "an object", v)
        : null;

    public IEnumerable<JsonElement> Array(string name) => Get(name) is { } v
        ? v.ValueKind == JsonValueKind.Array ? v.EnumerateArray() : throw WrongType(name, "an array", v)
        : [];

    public static string ExpectString(JsonElement value, string name) =>
        value.ValueKind == JsonValueKind.String ? value.GetString()! : throw WrongType(name, "a string", value);

    public static ServiceException WrongType(string name, string expected, JsonElement actual) =>
        ServiceException.Invalid($"Invalid type for '{name}': expected {expected}, but got {Describe(actual.ValueKind)} instead.", name, "invalid_type");

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}
