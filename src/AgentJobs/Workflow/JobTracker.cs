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

    public void Enter(JobPhase phase, IReadOnlyList<string>? pendingTools = null, string? pollerInstanceId = null)
    {
        Phase = phase;
        this.pendingTools = pendingTools ?? [];
        this.pollerInstanceId = pollerInstanceId;
        context.SetCustomStatus(new JobProgress(
            Phase, runStatus, Polls, this.pendingTools, Elapsed, Agent, Thread, runId, this.pollerInstanceId));
    }
}
