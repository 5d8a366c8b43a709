using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace AgentFunctions;

/// <summary>The activities: one activity trigger per <see cref="AgentJobActivities"/> method, delegating to it.</summary>
public sealed class ActivityFunctions(AgentJobActivities activities)
{
    /// <summary><see cref="AgentJobActivities.CreateAgent"/>.</summary>
    [Function(nameof(AgentJobActivities.CreateAgent))]
    public Task<AgentRef> CreateAgent([ActivityTrigger] CreateAgentInput input) => activities.CreateAgent(input);

    /// <summary><see cref="AgentJobActivities.CreateThread"/>.</summary>
    [Function(nameof(AgentJobActivities.CreateThread))]
    public Task<string> CreateThread([ActivityTrigger] CreateThreadInput input) => activities.CreateThread(input);

    /// <summary><see cref="AgentJobActivities.StartRun"/>.</summary>
    [Function(nameof(AgentJobActivities.StartRun))]
    public Task<RunState> StartRun([ActivityTrigger] StartRunInput input) => activities.StartRun(input);

    /// <summary><see cref="AgentJobActivities.GetRun"/>.</summary>
    [Function(nameof(AgentJobActivities.GetRun))]
    public Task<RunState> GetRun([ActivityTrigger] RunRef run) => activities.GetRun(run);

    /// <summary><see cref="AgentJobActivities.SubmitToolOutputs"/>.</summary>
    [Function(nameof(AgentJobActivities.SubmitToolOutputs))]
    public Task<RunState> SubmitToolOutputs([ActivityTrigger] SubmitToolOutputsInput input) => activities.SubmitToolOutputs(input);

    /// <summary><see cref="AgentJobActivities.CancelRun"/>.</summary>
    [Function(nameof(AgentJobActivities.CancelRun))]
    public Task<RunState> CancelRun([ActivityTrigger] CancelRunInput input) => activities.CancelRun(input);

    /// <summary><see cref="AgentJobActivities.CancelStartedRun"/>.</summary>
    [Function(nameof(AgentJobActivities.CancelStartedRun))]
    public Task<RunState?> CancelStartedRun([ActivityTrigger] CancelStartedRunInput input) => activities.CancelStartedRun(input);

    /// <summary><see cref="AgentJobActivities.RequestApprovals"/>.</summary>
    [Function(nameof(AgentJobActivities.RequestApprovals))]
    public Task<int> RequestApprovals([ActivityTrigger] RequestApprovalsInput input) => activities.RequestApprovals(input);

    /// <summary><see cref="AgentJobActivities.CloseToolCalls"/>.</summary>
    [Function(nameof(AgentJobActivities.CloseToolCalls))]
    public Task<int> CloseToolCalls([ActivityTrigger] CloseToolCallsInput input) => activities.CloseToolCalls(input);

    /// <summary><see cref="AgentJobActivities.ListMessages"/>.</summary>
    [Function(nameof(AgentJobActivities.ListMessages))]
    public Task<IReadOnlyList<JobMessage>> ListMessages([ActivityTrigger] string threadId) => activities.ListMessages(threadId);

    /// <summary><see cref="AgentJobActivities.ListRunSteps"/>.</summary>
    [Function(nameof(AgentJobActivities.ListRunSteps))]
    public Task<IReadOnlyList<JobRunStep>> ListRunSteps([ActivityTrigger] ListRunStepsInput input) => activities.ListRunSteps(input);

    /// <summary><see cref="AgentJobActivities.DeleteAgent"/>.</summary>
    [Function(nameof(AgentJobActivities.DeleteAgent))]
    public Task<bool> DeleteAgent([ActivityTrigger] AgentRef agent) => activities.DeleteAgent(agent);

    /// <summary><see cref="AgentJobActivities.DeleteThread"/>.</summary>
    [Function(nameof(AgentJobActivities.DeleteThread))]
    public Task<bool> DeleteThread([ActivityTrigger] string threadId) => activities.DeleteThread(threadId);

    /// <summary><see cref="AgentJobActivities.ExecuteTool"/>.</summary>
    [Function(nameof(AgentJobActivities.ExecuteTool))]
    public Task<ToolOutput> ExecuteTool([ActivityTrigger] ToolCallRequest call, [DurableClient] DurableTaskClient client) => activities.ExecuteWatchedTool(call, client);
}
