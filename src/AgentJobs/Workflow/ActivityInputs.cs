using AgentJobs.AgentService;

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

/// <summary>Input of <see cref="AgentJobActivities.AddMessage"/>.</summary>
/// <param name="ThreadId">The thread.</param>
/// <param name="Text">The user's message.</param>
/// <param name="IdempotencyKey">Marks the message so a retried add finds it.</param>
public sealed record AddMessageInput(string ThreadId, string Text, string IdempotencyKey);

/// <summary>Input of <see cref="AgentJobActivities.StartRun"/>.</summary>
/// <param name="Agent">The agent.</param>
/// <param name="ThreadId">The thread.</param>
/// <param name="IdempotencyKey">Marks the run so a retried start finds it.</param>
public sealed record StartRunInput(AgentRef Agent, string ThreadId, string IdempotencyKey);

/// <summary>Input of <see cref="AgentJobActivities.SubmitToolOutputs"/>.</summary>
/// <param name="Agent">The job's agent.</param>
/// <param name="Run">The run waiting for outputs.</param>
/// <param name="Outputs">One output per pending tool call.</param>
public sealed record SubmitToolOutputsInput(AgentRef Agent, RunRef Run, IReadOnlyList<ToolOutput> Outputs);

/// <summary>Input of <see cref="AgentJobActivities.ListRunSteps"/>.</summary>
/// <param name="ThreadId">The thread.</param>
/// <param name="RunIds">The job's runs.</param>
public sealed record ListRunStepsInput(string ThreadId, IReadOnlyList<string> RunIds);
