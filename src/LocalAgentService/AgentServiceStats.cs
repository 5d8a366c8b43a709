namespace LocalAgentService;

/// <summary>Live counts of the local service's store, both protocols: the proof that nothing leaks (also served by <c>GET /admin/stats</c>).</summary>
/// <param name="Assistants">Assistants (classic) that exist now.</param>
/// <param name="Threads">Threads (classic) that exist now.</param>
/// <param name="Runs">Runs of live threads by status (e.g. <c>completed</c> → 3).</param>
/// <param name="ActiveRuns">Classic runs not in a terminal status.</param>
/// <param name="AssistantsCreated">Assistants created since start.</param>
/// <param name="AssistantsDeleted">Assistants deleted since start.</param>
/// <param name="ThreadsCreated">Threads created since start.</param>
/// <param name="ThreadsDeleted">Threads deleted since start.</param>
/// <param name="RunsCreated">Runs created since start.</param>
public sealed record AgentServiceStats(
    int Assistants,
    int Threads,
    IReadOnlyDictionary<string, int> Runs,
    int ActiveRuns,
    long AssistantsCreated,
    long AssistantsDeleted,
    long ThreadsCreated,
    long ThreadsDeleted,
    long RunsCreated)
{
    /// <summary>Agents of both protocols that exist now: assistants plus named (versioned) agents.</summary>
    public int Agents { get; init; }

    /// <summary>Named agents (Responses protocol) that exist now, each with at least one version.</summary>
    public int AgentNames { get; init; }

    /// <summary>Conversations that exist now.</summary>
    public int Conversations { get; init; }

    /// <summary>Stored responses by status (<c>queued</c>, <c>in_progress</c>, <c>completed</c>, <c>failed</c>, <c>cancelled</c>, <c>incomplete</c>).</summary>
    public IReadOnlyDictionary<string, int> Responses { get; init; } = new Dictionary<string, int>();

    /// <summary>Stored responses not in a terminal status.</summary>
    public int ActiveResponses { get; init; }

    /// <summary>Agent versions created since start.</summary>
    public long AgentVersionsCreated { get; init; }

    /// <summary>Named agents deleted since start (whole agent, or its last version).</summary>
    public long AgentsDeleted { get; init; }

    /// <summary>Conversations created since start.</summary>
    public long ConversationsCreated { get; init; }

    /// <summary>Conversations deleted since start.</summary>
    public long ConversationsDeleted { get; init; }

    /// <summary>Responses created since start.</summary>
    public long ResponsesCreated { get; init; }

    /// <summary>Requests answered as a server-sent event stream since start (both protocols, resumed streams included).</summary>
    public long StreamsOpened { get; init; }
}
