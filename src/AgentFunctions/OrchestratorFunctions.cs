using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;

namespace AgentFunctions;

/// <summary>The orchestrators: the portable class-based orchestrators behind orchestration triggers.</summary>
public static class OrchestratorFunctions
{
    /// <summary>One agent job (<see cref="AgentJobOrchestrator"/>).</summary>
    [Function(AgentJobOrchestrator.Name)]
    public static Task<AgentJobResult> AgentJob([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new AgentJobOrchestrator().RunAsync(context, context.GetInput<AgentJobRequest>()!);
    }

    /// <summary>The run poller sub-orchestration (<see cref="RunPoller"/>).</summary>
    [Function(RunPoller.Name)]
    public static Task<PollOutcome> PollAgentRun([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new RunPoller().RunAsync(context, context.GetInput<PollRunInput>()!);
    }
}
