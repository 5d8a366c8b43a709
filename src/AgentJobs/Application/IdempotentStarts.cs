using System.Text.Json;
using AgentJobs.Contracts;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Application;

/// <summary>
/// Creates driven by an idempotency key (its header is <c>Http.IdempotencyKeys</c>): the instance id is derived from
/// the key (<see cref="InstanceIds"/>), so the durable backend itself remembers it; a retry with the same request
/// finds the first instance, the same key with another request is a conflict.
/// </summary>
public static class IdempotentStarts
{
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
        JsonSerializer.Serialize(stored, StoredJson.Options) == JsonSerializer.Serialize(fresh, StoredJson.Options);
}
