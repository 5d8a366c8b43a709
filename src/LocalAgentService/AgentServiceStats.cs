namespace LocalAgentService;

/// <summary>Live counts of the local service's store: the proof that nothing leaks (also served by <c>GET /admin/stats</c>).</summary>
/// <param name="Assistants">Assistants that exist now.</param>
/// <param name="Threads">Threads that exist now.</param>
/// <param name="Runs">Runs of live threads by status (e.g. <c>completed</c> → 3).</param>
/// <param name="ActiveRuns">Runs not in a terminal status.</param>
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
    long RunsCreated);
