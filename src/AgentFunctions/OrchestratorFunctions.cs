using AgentJobs.Contracts;
using AgentJobs.Sessions;
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
        return new AgentJobOrchestrator().RunAsync(context, context.GetInput<AgentJobSpec>()!);
    }

    /// <summary>The run poller sub-orchestration (<see cref="RunPoller"/>).</summary>
    [Function(RunPoller.Name)]
    public static Task<PollOutcome> PollAgentRun([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new RunPoller().RunAsync(context, context.GetInput<PollRunInput>()!);
    }

    /// <summary>An agent session (<see cref="AgentSessionOrchestrator"/>).</summary>
    [Function(AgentSessionOrchestrator.Name)]
    public static Task<AgentSessionResult> AgentSession([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new AgentSessionOrchestrator().RunAsync(context, context.GetInput<SessionState>()!);
    }

    /// <summary>One turn of a session (<see cref="AgentTurnOrchestrator"/>).</summary>
    [Function(AgentTurnOrchestrator.Name)]
    public static Task<SessionTurnResult> AgentSessionTurn([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new AgentTurnOrchestrator().RunAsync(context, context.GetInput<SessionTurnInput>()!);
    }

    /// <summary>The durable record of a session's turn or end request (<see cref="AgentSessionRequestOrchestrator"/>).</summary>
    [Function(AgentSessionRequestOrchestrator.Name)]
    public static Task<bool> AgentSessionRequest([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new AgentSessionRequestOrchestrator().RunAsync(context, null);
    }
}
