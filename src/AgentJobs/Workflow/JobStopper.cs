using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>
/// The one place that decides whether, and why, a job stops before its run ends on its own: a cancel request
/// (the <see cref="AgentJobOrchestrator.CancelEventName"/> event), the deadline, or a failure. The first to happen
/// wins and is kept; from then on the job waits for its run only until the cancel grace period ends
/// (<see cref="WaitUntil"/>). Everything here is derived from orchestration time and history, so it replays
/// identically.
/// </summary>
internal sealed class JobStopper
{
    readonly TaskOrchestrationContext context;
    readonly JobTracker job;
    DateTime? graceEnds;

    public JobStopper(TaskOrchestrationContext context, JobTracker job, int maxDurationSeconds, int cancelGraceSeconds)
    {
        this.context = context;
        this.job = job;
        MaxDurationSeconds = maxDurationSeconds;
        CancelGracePeriod = TimeSpan.FromSeconds(cancelGraceSeconds);
        Deadline = job.StartedAt.AddSeconds(maxDurationSeconds);
        CancelRequested = context.WaitForExternalEvent<string?>(AgentJobOrchestrator.CancelEventName);
        Working = AgentJobRetry.Until(() => Deadline, CancelRequested);
        Stopping = AgentJobRetry.Until(() => WaitUntil, maxAttempts: AgentJobRetry.MaxCleanupAttempts);
    }

    /// <summary>Retries for the job's work: given up at the deadline, or at once when a cancel request arrives.</summary>
    public TaskOptions Working { get; }

    /// <summary>Retries for the calls that stop the run and collect its results: given up when the grace period ends.</summary>
    public TaskOptions Stopping { get; }

    /// <summary>
    /// Waits for <paramref name="work"/> unless the job is asked to stop (a cancel request, the deadline) first.
    /// True when the work finished; false when the job should stop and leave the work behind (its activities run on
    /// and their results are ignored).
    /// </summary>
    public async Task<bool> FinishesBeforeStopAsync(Task work)
    {
        if (work.IsCompleted || ShouldStop())
        {
            return work.IsCompleted;
        }

        return await context.WhenAnyOrTimerAsync(Deadline, work, CancelRequested) == work;
    }

    /// <summary>The job's maximum duration, in seconds.</summary>
    public int MaxDurationSeconds { get; }

    /// <summary>How long a stopped run may take to reach a terminal status before cleanup goes ahead anyway.</summary>
    public TimeSpan CancelGracePeriod { get; }

    /// <summary>Start time plus the maximum duration.</summary>
    public DateTime Deadline { get; }

    /// <summary>Completes with the caller's reason when a cancel request arrives.</summary>
    public Task<string?> CancelRequested { get; }

    /// <summary>The decided stop, once there is one.</summary>
    public JobStop? Stop { get; private set; }

    /// <summary>Set when the stop is a failure: what the result reports.</summary>
    public JobFailure? Failure { get; private set; }

    /// <summary>Until when the job waits for its run: the deadline, or the end of the cancel grace period once stopping.</summary>
    public DateTime WaitUntil => graceEnds ?? Deadline;

    /// <summary>Decides now whether the job stops (a cancel request first, then the deadline); true once stopping.</summary>
    public bool ShouldStop()
    {
        if (Stop is null && CancelRequested.IsCompleted)
        {
            Decide(StopReason.CancelRequested, CancelRequested.Result ?? "no reason given");
        }
        else if (Stop is null && context.CurrentUtcDateTime >= Deadline)
        {
            Decide(StopReason.DeadlinePassed, $"the job passed its maximum duration of {MaxDurationSeconds} s");
        }

        return Stop is not null;
    }

    /// <summary>Stops the job because it went over a budget; <paramref name="message"/> names the budget and the figures.</summary>
    public void ExceedBudget(string message)
    {
        if (Stop is null)
        {
            Decide(StopReason.BudgetExceeded, message);
        }
    }

    /// <summary>Stops the job because a held tool call's approval timed out under <c>onTimeout: "cancel"</c>.</summary>
    public void ApprovalTimedOut(string message)
    {
        if (Stop is null)
        {
            Decide(StopReason.ApprovalTimedOut, message);
        }
    }

    /// <summary>
    /// Records a failure (a service call that failed for good, a poller that failed, a bug) as the stop, unless the
    /// job was already stopping: a failure that comes from stopping (retries given up at a cancel or the deadline) is
    /// the stop's. Cleanup still runs.
    /// </summary>
    public void Fail(Exception ex)
    {
        var (code, message) = ex is TaskFailedException failed
            ? (WorkflowSteps.FailureCode(failed), WorkflowSteps.ServiceMessage(failed))
            : ("workflow_error", $"{ex.GetType().Name}: {ex.Message}");
        context.CreateReplaySafeLogger<AgentJobOrchestrator>().JobFailed(context.InstanceId, job.Phase, message);
        if (!ShouldStop())
        {
            Fail(code, message);
        }
    }

    /// <summary>Stops the job because it cannot go on; the first failure is the one reported.</summary>
    public void Fail(string code, string message)
    {
        Failure ??= new JobFailure(code, message);
        Decide(StopReason.Failed, message);
    }

    /// <summary>
    /// The stop as the result records it: the decided one, marked not honoured when the run ended by itself anyway
    /// (completed, failed, expired, incomplete: the run's own ending is the outcome, see
    /// <see cref="AgentJobOrchestrator.Outcome"/>); or a cancel request that arrived after the run had ended, marked not
    /// honoured.
    /// </summary>
    public JobStop? Recorded(RunState? run) => Stop switch
    {
        null when CancelRequested.IsCompleted => new JobStop(StopReason.CancelRequested, CancelRequested.Result ?? "no reason given", job.Elapsed, Honoured: false),
        { Reason: StopReason.CancelRequested or StopReason.DeadlinePassed or StopReason.ApprovalTimedOut } stop
            when run?.Status is AgentRunStatus.Completed or AgentRunStatus.Failed or AgentRunStatus.Unknown or AgentRunStatus.Expired or AgentRunStatus.Incomplete
            => stop with { Honoured = false },
        var stop => stop,
    };

    void Decide(StopReason reason, string message)
    {
        if (Stop is not null)
        {
            return;
        }

        Stop = new JobStop(reason, message, job.Elapsed);
        graceEnds = context.CurrentUtcDateTime.Add(CancelGracePeriod);
    }
}
