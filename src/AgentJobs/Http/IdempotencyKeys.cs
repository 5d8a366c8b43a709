using Microsoft.AspNetCore.Http;

namespace AgentJobs.Http;

/// <summary>
/// The <c>Idempotency-Key</c> header of the POSTs that create something (a job, a session, a turn, a batch), so a client
/// can retry a request whose answer it never got. The resource's id is derived from the key (SHA-256 of the scope and
/// the key, 32 hex digits, the shape of every other id), so the durable backend itself remembers the key: the first
/// request creates the instance, a retry finds it. Nothing else is stored, so keys survive restarts on the storage
/// backend exactly as the instances do, and expire with them (retention or DELETE purges the instance, and the key
/// is free again). A retry with the same request gets the first resource (same id); the same key with another
/// request gets 422 (the scheduling and the comparison are <see cref="Application.IdempotentStarts"/>). Requests are compared as they were settled (defaults filled in), so formatting and
/// defaults spelled out or left out do not count as a difference.
/// </summary>
public static class IdempotencyKeys
{
    /// <summary>The request header.</summary>
    public const string Header = "Idempotency-Key";

    /// <summary>Longest key accepted.</summary>
    public const int MaxLength = 255;

    /// <summary>The key sent (null when none), or a 400 problem naming the header.</summary>
    public static (string? Key, IResult? Problem) Read(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var values = request.Headers[Header];
        if (values.Count == 0)
        {
            return (null, null);
        }

        var key = values.Count == 1 ? values.ToString().Trim() : null;
        if (key is { Length: >= 2 } && key[0] == '"' && key[^1] == '"')
        {
            key = key[1..^1]; // the header is a structured-field string: "…"; a bare token is taken as it is
        }

        return key is null || key.Length == 0 || key.Length > MaxLength || key.Any(c => c < 0x20 || c > 0x7E)
            ? (null, ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid idempotency key",
                $"'{Header}' must be sent once, with 1 to {MaxLength} printable ASCII characters (a random UUID is a good key).", Header))
            : (key, null);
    }

    /// <summary>The 422 answer to a key reused with another request.</summary>
    public static IResult Conflict(string what, string id) =>
        ApiResults.Problem(StatusCodes.Status422UnprocessableEntity, "Idempotency key reused",
            $"This {Header} was first sent with a different request, which made {what} '{id}'. Retry with the same body to get '{id}' again, " +
            "or send a new key for a new request.", Header);
}
