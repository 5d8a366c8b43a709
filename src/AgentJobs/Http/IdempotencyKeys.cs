using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Http;

/// <summary>
/// The <c>Idempotency-Key</c> header of the POSTs that create something (a job, a session, a turn, a batch), so a client
/// can retry a request whose answer it never got. The resource's id is derived from the key (SHA-256 of the scope and
/// the key, 32 hex digits, the shape of every other id), so the durable backend itself remembers the key: the first
/// request creates the instance, a retry finds it. Nothing else is stored, so keys survive restarts on the storage
/// backend exactly as the instances do, and expire with them (retention or DELETE purges the instance, and the key
/// is free again). A retry with the same request gets the first resource (same id); the same key with another
/// request gets 422. Requests are compared as they were settled (defaults filled in), so formatting and
/// defaults spelled out or left out do not count as a difference.
/// </summary>
public static class IdempotencyKeys
{
    /// <summary>The request header.</summary>
    public const string Header = "Idempotency-Key";

    /// <summary>Longest key accepted.</summary>
    public const int MaxLength = 255;

    /// <summary>What a keyed create found or did.</summary>
    public enum Outcome
    {
        /// <summary>No resource had the key: this request created it.</summary>
        Created,

        /// <summary>The key's resource exists and was made by the same request: answer with it.</summary>
        Replayed,

        /// <summary>The key's resource exists and was made by another request: 422.</summary>
        Conflict,
    }

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

    /// <summary>
    /// Schedules <paramref name="name"/> as <paramref name="instanceId"/> unless an instance has that id already: then
    /// <see cref="Outcome.Replayed"/> when <paramref name="sameRequest"/> says its stored input came from the same
    /// request, else <see cref="Outcome.Conflict"/>. Two requests racing with one key: the loser finds the winner's.
    /// </summary>
    public static async Task<Outcome> ScheduleAsync(
        DurableTaskClient client, string name, object input, string instanceId, Func<string?, bool> sameRequest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(sameRequest);

        // Requests with one key in this process take turns: the in-memory backend, asked to create one instance id
        // twice at the same moment, leaves it Pending for ever. Across processes (several workers on a storage task
        // hub) the provider refuses the second create, and the loser finds the winner's instance below.
        return await SerializedAsync(instanceId, async () =>
        {
            if (await FindAsync(client, name, instanceId, sameRequest, cancellationToken).ConfigureAwait(false) is { } found)
            {
                return found;
            }

            try
            {
                await client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId), cancellationToken).ConfigureAwait(false);
                return Outcome.Created;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Another process scheduled it first; anything else is a real failure.
                if (await FindAsync(client, name, instanceId, sameRequest, cancellationToken).ConfigureAwait(false) is { } raced)
                {
                    return raced;
                }

                throw;
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>One gate per stripe of instance ids (see <see cref="ScheduleAsync"/>).</summary>
    static readonly SemaphoreSlim[] Gates = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    /// <summary>Runs <paramref name="action"/> while no other keyed create of <paramref name="instanceId"/> runs in this process.</summary>
    public static async Task<T> SerializedAsync<T>(string instanceId, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        var gate = Gates[(int)((uint)StringComparer.Ordinal.GetHashCode(instanceId) % (uint)Gates.Length)];
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await action().ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    static async Task<Outcome?> FindAsync(DurableTaskClient client, string name, string instanceId, Func<string?, bool> sameRequest, CancellationToken cancellationToken)
    {
        var existing = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        return existing is null ? null
            : existing.Name == name && sameRequest(existing.SerializedInput) ? Outcome.Replayed
            : Outcome.Conflict;
    }

    /// <summary>Whether two values serialize alike with the API's options (how stored inputs are compared with new requests).</summary>
    public static bool Same<T>(T? stored, T? fresh) =>
        JsonSerializer.Serialize(stored, AgentJobsApi.JsonOptions) == JsonSerializer.Serialize(fresh, AgentJobsApi.JsonOptions);

    /// <summary>The 422 answer to a key reused with another request.</summary>
    public static IResult Conflict(string what, string id) =>
        ApiResults.Problem(StatusCodes.Status422UnprocessableEntity, "Idempotency key reused",
            $"This {Header} was first sent with a different request, which made {what} '{id}'. Retry with the same body to get '{id}' again, " +
            "or send a new key for a new request.", Header);
}
