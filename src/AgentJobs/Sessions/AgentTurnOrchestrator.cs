using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.DurableTask;

namespace AgentJobs.Sessions;

/// <summary>
/// One turn of a session, as its own orchestration (<c>{sessionId}:turn:{n}</c>): the job's turn
/// (<see cref="AgentTurnRunner"/>) on the session's agent and thread, with the job's stop rules. Its instance takes the
/// turn's cancel (<see cref="AgentJobOrchestrator.CancelEventName"/>) and approval decisions directly, so the session
/// never has to forward them; its output is the turn's durable record.
/// </summary>
public sealed class AgentTurnOrchestrator : TaskOrchestrator<SessionTurnInput, SessionTurnResult>
{
    /// <summary>The orchestrator name.</summary>
    public const string Name = "AgentSessionTurn";

    /// <summary>The orchestration.</summary>
    public override async Task<SessionTurnResult> RunAsync(TaskOrchestrationContext context, SessionTurnInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);
        var request = input.Request;
        var job = new JobTracker(context, input.Agent.Id, input.ThreadId);
        var stopper = new JobStopper(context, job, request.MaxDurationSeconds, request.CancelGraceSeconds);

        var turn = await new AgentTurnRunner(context, job, stopper, input.Agent, input.ThreadId, request).RunAsync();
        var outcome = AgentJobOrchestrator.Outcome(turn.Run, stopper);
        job.Enter(JobPhase.Done);
        return new SessionTurnResult(
            input.Number,
            input.TurnId,
            request.Prompt,
            outcome,
            AgentJobOrchestrator.Reply(turn.Messages, job.RunIds),
            turn.Messages,
            job.RunIds,
            turn.Steps,
            job.Usage,
            job.ToolCalls,
            job.Approvals,
            AgentJobOrchestrator.Failure(outcome, turn.Run, stopper),
            stopper.Recorded(turn.Run),
            job.Elapsed);
    }
}
