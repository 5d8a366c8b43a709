namespace AgentJobs.Tools;

/// <summary>
/// The tool call being executed: which job, which call, and the idempotency key that is the same on every
/// attempt of that call. Activities run at least once, so a tool with side effects (sending a mail, creating a
/// ticket) should use <see cref="IdempotencyKey"/> to make them happen once.
/// <para>
/// A C# tool gets it by declaring a parameter of this type (it is bound by the registry and left out of the
/// tool's JSON schema), or reads <see cref="Current"/>. MCP servers receive the key in the <c>tools/call</c>
/// request's <c>_meta</c> as <c>"agentfunctions/idempotencyKey"</c> (<see cref="MetaKey"/>).
/// </para>
/// </summary>
/// <param name="JobId">The job (orchestration instance) id.</param>
/// <param name="ToolCallId">The agent service's id of the call.</param>
public sealed record ToolCallContext(string JobId, string ToolCallId)
{
    /// <summary>The <c>_meta</c> key under which MCP servers receive <see cref="IdempotencyKey"/>.</summary>
    public const string MetaKey = "agentfunctions/idempotencyKey";

    static readonly AsyncLocal<ToolCallContext?> current = new();

    /// <summary>
    /// <c>{jobId}:tool:{toolCallId}</c>: stable across retries of the same call (both parts come from the durable
    /// history), different for every call of every job.
    /// </summary>
    public string IdempotencyKey => $"{JobId}:tool:{ToolCallId}";

    /// <summary>The call being executed on this async flow, or null outside a tool call.</summary>
    public static ToolCallContext? Current
    {
        get => current.Value;
        internal set => current.Value = value;
    }
}
