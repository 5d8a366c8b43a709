using System.Text.Json;

namespace AgentJobs.Contracts;

/// <summary>
/// How the API writes its answers and reads what the durable backend stored (an input, an output, a custom status):
/// the web defaults. Here, below every layer, because workflow, application and HTTP code all read stored JSON.
/// </summary>
public static class StoredJson
{
    /// <summary>The options: <see cref="JsonSerializerDefaults.Web"/>.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);

    /// <summary>Stored JSON (a status, an input, an output) as <typeparamref name="T"/>; null when absent or unreadable.</summary>
    public static T? Deserialize<T>(string? json)
        where T : class
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<T>(json, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
