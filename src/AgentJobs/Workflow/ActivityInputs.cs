using AgentJobs.AgentService;
using System.Text.Json.Serialization;
using AgentJobs.Contracts;

namespace AgentJobs.Workflow;

/// <summary>Input of <see cref="AgentJobActivities.CreateAgent"/>: the agent as the job describes it.</summary>
/// <param name="Name">Agent name.</param>
/// <param name="Model">Model deployment.</param>
/// <param name="Instructions">Instructions.</param>
/// <param name="ToolNames">Registered function tools to give it.</param>
/// <param name="JobId">The job (orchestration instance) it belongs to.</param>
/// <param name="IdempotencyKey">Marks the agent so a retried create finds it.</param>
public sealed record CreateAgentInput(string Name, string Model, string Instructions, IReadOnlyList<string> ToolNames, string JobId, string IdempotencyKey);

/// <summary>Input of <see cref="AgentJobActivities.CreateThread"/>.</summary>
/// <param name="IdempotencyKey">Marks the thread.</param>
public sealed record CreateThreadInput(string IdempotencyKey);

/// <summary>Input of <see cref="AgentJobActivities.StartRun"/>.</summary>
/// <param name="Agent">The agent.</param>
/// <param name="ThreadId">The thread.</param>
/// <param name="UserMessage">The user's message, added to the thread as the run starts.</param>
/// <param name="IdempotencyKey">Marks the message and the run so a retried start finds them.</param>
/// <param name="StreamWindowSeconds">How long the activity follows the run's stream (0: no stream; the run is polled).</param>
/// <param name="JobId">The orchestration instance making the call: the streamed text goes to its delta log (none when null).</param>
public sealed record StartRunInput(AgentRef Agent, string ThreadId, string UserMessage, string IdempotencyKey, int StreamWindowSeconds = 0, string? JobId = null)
{
    /// <summary>The stream window.</summary>
    [JsonIgnore]
    public TimeSpan StreamWindow => TimeSpan.FromSeconds(StreamWindowSeconds);
}

/// <summary>Input of <see cref="AgentJobActivities.CancelRun"/>.</summary>
/// <param name="Run">The run as last seen (a run waiting for tool outputs gets them closed).</param>
/// <param name="Reason">Why the job stops, for the error outputs of calls it leaves unanswered.</param>
public sealed record CancelRunInput(RunState Run, string Reason);

/// <summary>Input of <see cref="AgentJobActivities.CancelStartedRun"/>.</summary>
/// <param name="ThreadId">The thread.</param>
/// <param name="IdempotencyKey">The key of the streamed call still in flight.</param>
/// <param name="Previous">The run a submission answers (it keeps its id in the classic protocol); null for a start.</param>
/// <param name="Reason">Why the job stops.</param>
public sealed record CancelStartedRunInput(string ThreadId, string IdempotencyKey, RunRef? Previous, string Reason);

/// <summary>Input of <see cref="AgentJobActivities.SubmitToolOutputs"/>.</summary>
/// <param name="Agent">The job's agent.</param>
/// <param name="Run">The run waiting for outputs.</param>
/// <param name="Outputs">One output per pending tool call.</param>
/// <param name="IdempotencyKey">Marks the submission where the protocol makes a new run of it.</param>
/// <param name="StreamWindowSeconds">How long the activity follows the run's stream (0: no stream; the run is polled).</param>
/// <param name="JobId">The orchestration instance making the call: the streamed text goes to its delta log (none when null).</param>
public sealed record SubmitToolOutputsInput(AgentRef Agent, RunRef Run, IReadOnlyList<ToolOutput> Outputs, string IdempotencyKey, int StreamWindowSeconds = 0, string? JobId = null)
{
    /// <summary>The stream window.</summary>
    [JsonIgnore]
    public TimeSpan StreamWindow => TimeSpan.FromSeconds(StreamWindowSeconds);
}

/// <summary>Input of <see cref="AgentJobActivities.ListRunSteps"/>.</summary>
/// <param name="ThreadId">The thread.</param>
/// <param name="RunIds">The job's runs.</param>
public sealed record ListRunStepsInput(string ThreadId, IReadOnlyList<string> RunIds);

/// <summary>Input of <see cref="AgentJobActivities.CloseToolCalls"/>.</summary>
/// <param name="ThreadId">The thread.</param>
/// <param name="Reason">Why the job stops, for the error outputs of the calls it closes.</param>
public sealed record CloseToolCallsInput(string ThreadId, string Reason);

/// <summary>Input of <see cref="AgentJobActivities.RequestApprovals"/>.</summary>
/// <param name="JobId">The job (or session turn) whose calls wait.</param>
/// <param name="Calls">The calls held for approval, as the status shows them.</param>
public sealed record RequestApprovalsInput(string JobId, IReadOnlyList<PendingApproval> Calls);
