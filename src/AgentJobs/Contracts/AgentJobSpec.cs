using System.Text.Json;
using System.Text.Json.Serialization;

namespace AgentJobs.Contracts;

/// <summary>
/// A job as it runs: an <see cref="AgentJobRequest"/> with every default applied once, by
/// <see cref="Application.AgentJobPolicy.Settle"/>. It is the job orchestrator's input (and a batch's or a session's
/// template), so replays, restarts and other workers see exactly the values the job was accepted with. Its JSON is
/// a settled request's JSON (same names and shapes), so inputs stored before the spec existed still read.
/// </summary>
/// <param name="Prompt">The user message sent to the agent.</param>
/// <param name="Instructions">The agent's instructions (system prompt).</param>
/// <param name="Model">The model deployment the agent runs on.</param>
/// <param name="AgentName">A display name for the agent.</param>
/// <param name="Tools">Names of registered function tools the agent may call.</param>
/// <param name="ThreadId">An existing thread (conversation) to continue instead of creating one.</param>
/// <param name="DeleteThread">Delete the thread at the end; never applies to a thread the caller supplied.</param>
/// <param name="MaxDurationSeconds">After this long the run is cancelled and the job ends as timed out.</param>
/// <param name="Polling">How the run is polled, its stream window settled.</param>
/// <param name="CancelGraceSeconds">Once the job stops its run, how long it waits for the run to end before cleaning up anyway.</param>
/// <param name="MaxToolRounds">Budget: tool rounds the run may ask for.</param>
/// <param name="MaxTotalTokens">Budget: total tokens the job's runs may use (none when null).</param>
/// <param name="Approval">Tool calls that wait for a person's approval, its timeout and action settled (none when null).</param>
[JsonConverter(typeof(AgentJobSpecJsonConverter))]
public sealed record AgentJobSpec(
    string Prompt,
    string Instructions,
    string Model,
    string AgentName,
    IReadOnlyList<string> Tools,
    string? ThreadId,
    bool DeleteThread,
    int MaxDurationSeconds,
    PollingSettings Polling,
    int CancelGraceSeconds,
    int MaxToolRounds,
    long? MaxTotalTokens,
    ApprovalPolicy? Approval)
{
    /// <summary>
    /// Whether every value arrived. A durable input is JSON: one scheduled around the policy (a raw, unsettled
    /// <see cref="AgentJobRequest"/>) reads with its gaps marked here, and the orchestrators refuse it.
    /// </summary>
    [JsonIgnore]
    public bool IsComplete { get; init; } = true;

    /// <summary>The spec as the wire request it was settled from, every field filled (its JSON is the spec's JSON).</summary>
    public AgentJobRequest ToRequest() => new(
        Prompt, Instructions, Model, AgentName, Tools, ThreadId, DeleteThread, MaxDurationSeconds, Polling, CancelGraceSeconds, MaxToolRounds, MaxTotalTokens, Approval);

    /// <summary>
    /// <paramref name="request"/> as a spec when it was settled (every default filled); otherwise a spec that is not
    /// <see cref="IsComplete"/>, its gaps left empty.
    /// </summary>
    public static AgentJobSpec FromSettled(AgentJobRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var complete = request is { Model: not null, AgentName: not null, Instructions: not null, Tools: not null, MaxDurationSeconds: not null, Polling: not null, CancelGraceSeconds: not null, MaxToolRounds: not null };
        return new AgentJobSpec(
            request.Prompt, request.Instructions!, request.Model!, request.AgentName!, request.Tools!, request.ThreadId, request.DeleteThread,
            request.MaxDurationSeconds ?? 0, request.Polling!, request.CancelGraceSeconds ?? 0, request.MaxToolRounds ?? 0, request.MaxTotalTokens, request.Approval)
        {
            IsComplete = complete,
        };
    }
}

/// <summary>
/// Reads and writes a spec through <see cref="AgentJobRequest"/>, so its JSON is a settled request's by construction:
/// inputs stored as settled requests before the spec existed read as specs, and an unsettled one reads as incomplete
/// instead of failing to deserialize.
/// </summary>
public sealed class AgentJobSpecJsonConverter : JsonConverter<AgentJobSpec>
{
    /// <inheritdoc/>
    public override AgentJobSpec? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        JsonSerializer.Deserialize<AgentJobRequest>(ref reader, options) is { } request ? AgentJobSpec.FromSettled(request) : null;

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, AgentJobSpec value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(value);
        JsonSerializer.Serialize(writer, value.ToRequest(), options);
    }
}
