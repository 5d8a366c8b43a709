namespace AgentJobs.ApiContract;

/// <summary>
/// A running agent-jobs host as the contract suite (<see cref="AgentJobsApiContract"/>) sees it: its HTTP API,
/// plus just enough of the agent service behind it to make a job finish quickly or keep running.
/// </summary>
/// <remarks>
/// Implementations: the Functions app's [Function] HTTP wrappers invoked in-process (tests/AgentFunctions.Tests),
/// and the local host's <c>serve</c> verb over real HTTP on 127.0.0.1. A host must serve the API under
/// <c>api/agent-jobs</c>, accept the suite's fast polling settings (<c>initialDelayMs</c> 20, <c>maxDelayMs</c> 200),
/// and run several jobs at once (the suite's tests may run in parallel against one host).
/// </remarks>
public interface IAgentJobsApiHost
{
    /// <summary>
    /// Sends one request to the API. Request URIs are relative to the host root (e.g. <c>api/agent-jobs</c>,
    /// <c>api/agent-jobs/{id}/cancel</c>); the host resolves them against its base address and adds any key it
    /// needs. Returns the response as received (status, headers including <c>Location</c>, content with its
    /// content type); the caller disposes it.
    /// </summary>
    Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken);

    /// <summary>The prompt limit this host enforces (setting <c>AgentJobs__MaxPromptLength</c>).</summary>
    int MaxPromptLength { get; }

    /// <summary>A prompt whose run completes within a few seconds with a non-empty reply.</summary>
    string CompletingPrompt { get; }

    /// <summary>A prompt whose run stays in progress for at least two minutes unless it is cancelled.</summary>
    string LongRunningPrompt { get; }

    /// <summary>Whether the agent service still has this agent (false once a job has deleted it).</summary>
    Task<bool> AgentExistsAsync(string agentId, CancellationToken cancellationToken);

    /// <summary>The model deployment the host is configured with (<c>AgentService__Model</c>); not the built-in default.</summary>
    string ConfiguredModel { get; }

    /// <summary>The model deployment an agent that still exists was created with.</summary>
    Task<string?> AgentModelAsync(string agentId, CancellationToken cancellationToken);
}
