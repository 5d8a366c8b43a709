using AgentJobs.Contracts;

namespace AgentJobs.AgentService;

/// <summary>
/// The port between the workflow and an agent service. Shaped after the job's steps rather than one protocol,
/// so the classic threads/runs protocol and the Foundry Agent Service (agent versions, conversations,
/// background responses) both implement it:
/// <list type="bullet">
/// <item>agent ↔ assistant | agent version; thread ↔ thread | conversation; run ↔ run | background response.</item>
/// <item>Tool calls surface as <see cref="AgentRunStatus.RequiresAction"/> either way; submitting outputs may
/// move the job to a new run id (responses), so callers always continue with the returned <see cref="RunState"/>.</item>
/// </list>
/// Implementations throw <see cref="TransientAgentServiceException"/> for failures worth retrying and
/// <see cref="AgentServiceException"/> for the rest. Calls that create things take an idempotency key, because
/// activities run at least once.
/// </summary>
public interface IAgentService
{
    /// <summary>Creates an agent.</summary>
    Task<AgentRef> CreateAgentAsync(AgentDefinition definition, string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Deletes an agent. Returns false when it was already gone (which counts as done).</summary>
    Task<bool> DeleteAgentAsync(AgentRef agent, CancellationToken cancellationToken);

    /// <summary>Creates an empty thread (conversation) and returns its id.</summary>
    Task<string> CreateThreadAsync(string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Deletes a thread. Returns false when it was already gone.</summary>
    Task<bool> DeleteThreadAsync(string threadId, CancellationToken cancellationToken);

    /// <summary>
    /// Adds the user's message to the thread and starts the agent on it. One call because in the Responses
    /// protocol the message is the response's input (conversation items carry no metadata, so a separately added
    /// item could not be recognised by a retry); the classic adapter adds the message, then creates the run.
    /// Both halves are idempotent per <paramref name="idempotencyKey"/>: a retry after a lost answer finds the
    /// message and the run it created instead of adding them again.
    /// </summary>
    /// <param name="agent">The agent.</param>
    /// <param name="threadId">The thread (conversation).</param>
    /// <param name="userMessage">The user's message.</param>
    /// <param name="idempotencyKey">Marks the message and the run.</param>
    /// <param name="streamWindow">Stream-first waiting: when positive, the run is started streamed and its events read
    /// for up to this long, returning the moment it ends or needs tool outputs; the run as last seen otherwise. A stream
    /// the service refuses or drops is not an error: the run as last seen (or as read) is returned, to be polled.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    Task<RunState> StartRunAsync(AgentRef agent, string threadId, string userMessage, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken);

    /// <summary>Reads the run's current state.</summary>
    Task<RunState> GetRunAsync(RunRef run, CancellationToken cancellationToken);

    /// <summary>
    /// Answers every pending tool call of the run in one call. The agent is passed because protocols that answer
    /// with a new response must reference it again.
    /// </summary>
    /// <remarks>Idempotent per <paramref name="idempotencyKey"/> where the protocol makes a new run of it. Streams for up
    /// to <paramref name="streamWindow"/> like <see cref="StartRunAsync"/>.</remarks>
    Task<RunState> SubmitToolOutputsAsync(AgentRef agent, RunRef run, IReadOnlyList<ToolOutput> outputs, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken);

    /// <summary>
    /// Stops the run and leaves the thread fit to continue: asks the service to cancel it and answers every tool
    /// call it still waits for with an error output naming <paramref name="reason"/>, so a later run on the same
    /// thread does not meet an unanswered call. A run that already ended is returned as it is. Cancelling may take
    /// a while: the result can be <see cref="AgentRunStatus.Cancelling"/>.
    /// </summary>
    Task<RunState> CancelRunAsync(RunState run, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Cancels the run a call that may still be in flight started with <paramref name="idempotencyKey"/> (a streamed
    /// start or tool-output submission, whose activity has not returned yet), like <see cref="CancelRunAsync"/>. Where
    /// a submission keeps the run's id (classic), <paramref name="previous"/> is that run. Null when the call has not
    /// started a run yet.
    /// </summary>
    Task<RunState?> CancelStartedRunAsync(string threadId, string idempotencyKey, RunRef? previous, string reason, CancellationToken cancellationToken);

    /// <summary>
    /// Answers every tool call the thread still holds without an output, with an error output naming
    /// <paramref name="reason"/>, so the next run on the thread does not fail on it. Needed where a protocol keeps
    /// calls in the thread apart from runs (Responses: a follow-up response that was cancelled or failed drops the
    /// outputs it carried); a no-op where runs own their calls (classic). Idempotent.
    /// </summary>
    /// <returns>How many calls were closed.</returns>
    Task<int> CloseOpenToolCallsAsync(string threadId, string reason, CancellationToken cancellationToken);

    /// <summary>Lists the thread's messages, oldest first.</summary>
    Task<IReadOnlyList<JobMessage>> ListMessagesAsync(string threadId, CancellationToken cancellationToken);

    /// <summary>Lists the steps of the given runs, oldest first.</summary>
    Task<IReadOnlyList<JobRunStep>> ListRunStepsAsync(string threadId, IReadOnlyList<string> runIds, CancellationToken cancellationToken);
}
