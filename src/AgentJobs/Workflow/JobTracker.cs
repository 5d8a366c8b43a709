using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>
/// The orchestrator's running tally (phase, runs, polls, usage) and the custom status derived from it.
/// Everything here comes from orchestration time and activity results, so it replays identically.
/// </summary>
/// <remarks>The tally only changes through methods named for what happened (a run seen, a poller's answer, tools run).</remarks>
internal sealed class JobTracker(TaskOrchestrationContext context, string? agent = null, string? thread = null)
{
    readonly List<string> runIds = [];
    readonly Dictionary<string, TokenUsage> usageByRun = new(StringComparer.Ordinal);
    readonly List<JobApproval> approvals = [];
    Task<ApprovalDecision>? nextDecision;
    IReadOnlyList<PendingApproval>? pendingApprovals;
    IReadOnlyList<string>? decidedCallIds;
    string? pollerInstanceId;
    IReadOnlyList<string> pendingTools = [];
    string? runStatus;
    string? runId;

    public DateTime StartedAt { get; } = context.CurrentUtcDateTime;

    public JobPhase Phase { get; private set; } = JobPhase.Starting;

    /// <summary>The agent's id, once it exists.</summary>
    public string? Agent { get; private set; } = agent;

    /// <summary>The thread's id, once it exists.</summary>
    public string? Thread { get; private set; } = thread;

    /// <summary>Polls so far in the job, as the last poller reported them.</summary>
    public int Polls { get; private set; }

    /// <summary>Tool calls run so far (rejected calls excluded).</summary>
    public int ToolCalls { get; private set; }

    /// <summary>Records the agent the job created; the next status shows it.</summary>
    public void AgentCreated(string agentId) => Agent = agentId;

    /// <summary>Records the thread the job runs on (created or supplied); the next status shows it.</summary>
    public void ThreadChosen(string? threadId) => Thread = threadId;

    /// <summary>Takes in a poller's answer: the job's poll count and the run as the poller last saw it.</summary>
    public void Polled(PollOutcome outcome)
    {
        Polls = outcome.Polls;
        Saw(outcome.Run);
    }

    /// <summary>Counts tool calls that ran in a round.</summary>
    public void ToolsRan(int calls) => ToolCalls += calls;

    public IReadOnlyList<string> RunIds => runIds;

    /// <summary>Decisions on held tool calls, in the order taken in.</summary>
    public IReadOnlyList<JobApproval> Approvals => approvals;

    public void Decided(JobApproval approval) => approvals.Add(approval);

    /// <summary>
    /// The next approval decision. One waiter serves the whole orchestration: a waiter left behind by a round that
    /// ended (timeout, stop) would otherwise take the next round's first decision, since events go to the oldest waiter.
    /// </summary>
    public Task<ApprovalDecision> NextDecision() =>
        nextDecision ??= context.WaitForExternalEvent<ApprovalDecision>(AgentJobOrchestrator.ApprovalEventName);

    /// <summary>Marks the decision <see cref="NextDecision"/> returned as taken; the next call waits for a new one.</summary>
    public ApprovalDecision TakeDecision()
    {
        var decision = nextDecision!.Result;
        nextDecision = null;
        return decision;
    }

    public TokenUsage? Usage => usageByRun.Values.Aggregate((TokenUsage?)null, TokenUsage.Add);

    public double Elapsed => (context.CurrentUtcDateTime - StartedAt).TotalSeconds;

    public void Saw(RunState run)
    {
        if (!runIds.Contains(run.RunId))
        {
            runIds.Add(run.RunId);
        }

        if (run.Usage is { } usage)
        {
            usageByRun[run.RunId] = usage;
        }

        runStatus = run.RawStatus;
        runId = run.RunId;
    }

    public void Enter(
        JobPhase phase,
        IReadOnlyList<string>? pendingTools = null,
        string? pollerInstanceId = null,
        IReadOnlyList<PendingApproval>? pendingApprovals = null,
        IReadOnlyList<string>? decidedCallIds = null)
    {
        Phase = phase;
        this.pendingTools = pendingTools ?? [];
        this.pollerInstanceId = pollerInstanceId;
        this.pendingApprovals = pendingApprovals is { Count: > 0 } ? [.. pendingApprovals] : null;
        this.decidedCallIds = decidedCallIds is { Count: > 0 } ? [.. decidedCallIds] : null;
        context.SetCustomStatus(new JobProgress(
            Phase, runStatus, Polls, this.pendingTools, Elapsed, Agent, Thread, runId, this.pollerInstanceId, this.pendingApprovals, this.decidedCallIds));
    }
}
