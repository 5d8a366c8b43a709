using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>
/// The orchestrator's running tally (phase, runs, polls, usage) and the custom status derived from it.
/// Everything here comes from orchestration time and activity results, so it replays identically.
/// </summary>
internal sealed class JobTracker(TaskOrchestrationContext context)
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

    public string? Agent { get; set; }

    public string? Thread { get; set; }

    public int Polls { get; set; }

    public int PollerCalls { get; set; }

    public int ToolCalls { get; set; }

    /// <summary>Whether the job has asked the service to cancel its run.</summary>
    public bool CancelSent { get; set; }

    /// <summary>Tool rounds answered so far (each submission gets its own idempotency key; the tool-round budget counts them).</summary>
    public int ToolRounds { get; set; }

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
