using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Workflow;

/// <summary>
/// One turn: a user message answered by one run. Starts the run with the message, waits for it with durable
/// timers while answering its tool calls (approvals included), stops it when the stopper says so, answers any
/// tool call it left open so the thread stays usable, and reads the messages and run steps. Jobs run one turn;
/// sessions run one per message. The agent and the thread belong to the caller, which deletes them.
/// </summary>
internal static class AgentTurn
{
    /// <summary>A turn that never started: no run, nothing read.</summary>
    public static TurnResult NotStarted { get; } = new(null, [], []);

    /// <summary>Runs the turn; never throws for a service failure (the stopper records it).</summary>
    public static async Task<TurnResult> RunAsync(
        TaskOrchestrationContext context, JobTracker job, JobStopper stopper, AgentRef agent, string threadId, AgentJobRequest request)
    {
        RunState? run = null;
        try
        {
            if (!stopper.ShouldStop())
            {
                job.Enter(JobPhase.StartingRun);
                var key = WorkflowSteps.Key(context, "run");
                var window = StreamWindowSeconds(context, stopper, request);
                var start = context.CallActivityAsync<RunState>(
                    nameof(AgentJobActivities.StartRun), new StartRunInput(agent, threadId, request.Prompt, key, window, context.InstanceId), stopper.Working);
                run = await StreamedCallAsync(context, job, stopper, start, new CancelStartedRunInput(threadId, key, Previous: null, "the job is stopping"));
                job.Saw(run);
                run = await WaitForRunAsync(context, job, stopper, agent, run, request);
            }
        }
        catch (Exception ex)
        {
            Fail(context, job, stopper, ex);
        }

        if (run is null)
        {
            return NotStarted;
        }

        CheckTokenBudget(job, stopper, request);

        // A run that did not complete is stopped if it still runs, and any tool call it left open is answered, so the
        // thread can be continued by the next turn or job. Both steps are no-ops where there is nothing to do.
        if (run is { Status: not AgentRunStatus.Completed })
        {
            var reason = stopper.Stop?.Message ?? $"the run ended as '{run.RawStatus}'";
            run = run.IsTerminal || job.CancelSent ? run : await CancelRunAsync(context, job, stopper, run, reason);
            await WorkflowSteps.TryAsync(context, nameof(AgentJobActivities.CloseToolCalls), new CloseToolCallsInput(threadId, reason), stopper.Stopping);
        }

        if (stopper.Failure is not null)
        {
            return new TurnResult(run, [], []);
        }

        try
        {
            // Two independent reads, in parallel: one orchestration episode and one round trip fewer than in turn.
            job.Enter(JobPhase.CollectingResults);
            var messages = context.CallActivityAsync<IReadOnlyList<JobMessage>>(
                nameof(AgentJobActivities.ListMessages), threadId, stopper.Stopping);
            var steps = context.CallActivityAsync<IReadOnlyList<JobRunStep>>(
                nameof(AgentJobActivities.ListRunSteps), new ListRunStepsInput(threadId, job.RunIds), stopper.Stopping);
            await Task.WhenAll(messages, steps);
            return new TurnResult(run, await messages, ToolApprovals.Annotate(await steps, job.Approvals));
        }
        catch (TaskFailedException ex)
        {
            stopper.Fail(WorkflowSteps.FailureCode(ex), WorkflowSteps.ServiceMessage(ex));
            return new TurnResult(run, [], []);
        }
    }

    /// <summary>
    /// Records a failure (a service call that failed for good, a poller that failed, a bug) as the stop, unless the
    /// job was already stopping: a failure that comes from stopping (retries given up at a cancel or the deadline) is
    /// the stop's. Cleanup still runs.
    /// </summary>
    public static void Fail(TaskOrchestrationContext context, JobTracker job, JobStopper stopper, Exception ex)
    {
        var (code, message) = ex is TaskFailedException failed
            ? (WorkflowSteps.FailureCode(failed), WorkflowSteps.ServiceMessage(failed))
            : ("workflow_error", $"{ex.GetType().Name}: {ex.Message}");
        context.CreateReplaySafeLogger<AgentJobOrchestrator>().LogError("Job {JobId} failed in {Phase}: {Message}", context.InstanceId, job.Phase, message);
        if (!stopper.ShouldStop())
        {
            stopper.Fail(code, message);
        }
    }

    /// <summary>
    /// Waits for the run to end, answering its tool calls, and stops it when the stopper says so. Once stopping,
    /// the run is cancelled once (which also closes any tool calls it waits for) and waited for until the grace
    /// period ends; a run that can no longer change by itself is not waited for at all.
    /// </summary>
    static async Task<RunState> WaitForRunAsync(
        TaskOrchestrationContext context, JobTracker job, JobStopper stopper, AgentRef agent, RunState run, AgentJobRequest request)
    {
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        var cancelSent = job.CancelSent; // a stop during a streamed call cancelled the run already
        while (!run.IsTerminal)
        {
            CheckTokenBudget(job, stopper, request);
            if (!cancelSent && stopper.ShouldStop())
            {
                run = await CancelRunAsync(context, job, stopper, run, stopper.Stop!.Message);
                cancelSent = true;
                continue;
            }

            if (run.Status == AgentRunStatus.RequiresAction)
            {
                if (cancelSent)
                {
                    // The service kept the calls open after the cancel; nothing will change them now.
                    log.LogWarning("Run {RunId} still waits for tool outputs after it was cancelled; not waiting for it.", run.RunId);
                    break;
                }

                if (job.ToolRounds >= request.MaxToolRounds)
                {
                    stopper.ExceedBudget($"maxToolRounds: the agent asked for tool round {job.ToolRounds + 1}; its budget is {request.MaxToolRounds}");
                    continue;
                }

                run = await ToolRoundAsync(context, job, stopper, agent, run, request);
                continue;
            }

            if (cancelSent && context.CurrentUtcDateTime >= stopper.WaitUntil)
            {
                log.LogWarning("Run {RunId} did not finish cancelling in time; cleaning up anyway.", run.RunId);
                break;
            }

            (run, cancelSent) = await PollAsync(context, job, stopper, run, request.Polling!, cancelSent);
        }

        return run;
    }

    /// <summary>Stops the job when its runs have used more tokens than its budget (services report usage as they go, or at the end).</summary>
    static void CheckTokenBudget(JobTracker job, JobStopper stopper, AgentJobRequest request)
    {
        if (job.Usage?.TotalTokens is { } used && used > request.MaxTotalTokens)
        {
            stopper.ExceedBudget($"maxTotalTokens: the job's runs have used {used:N0} tokens; its budget is {request.MaxTotalTokens:N0}");
        }
    }

    /// <summary>
    /// One poller sub-orchestration. A cancel request that arrives while it waits is acted on at once: the run is
    /// cancelled and the poller told to wait no longer than the grace period.
    /// </summary>
    static async Task<(RunState Run, bool CancelSent)> PollAsync(
        TaskOrchestrationContext context, JobTracker job, JobStopper stopper, RunState run, PollingSettings polling, bool cancelSent)
    {
        var pollerId = $"{context.InstanceId}:poll:{job.PollerCalls++}";
        job.Enter(cancelSent ? JobPhase.Cancelling : JobPhase.Polling, pollerInstanceId: pollerId);
        var input = new PollRunInput(run, stopper.WaitUntil, polling, job.Polls);
        if (run.StreamedMs is { } streamedMs && run.PollAfterMs is null && !cancelSent)
        {
            // The run was followed through its stream: poll on the schedule a polled run would have had.
            var (untilNext, delay) = PollDelay.AfterWaiting(polling, TimeSpan.FromMilliseconds(streamedMs));
            input = input with { NextDelayMs = delay.TotalMilliseconds, NextPollAtUtc = context.CurrentUtcDateTime + untilNext };
        }

        var poller = context.CallSubOrchestratorAsync<PollOutcome>(
            RunPoller.Name, input, new SubOrchestrationOptions { InstanceId = pollerId });

        RunState? cancelled = null;
        if (!cancelSent && await Task.WhenAny(poller, stopper.CancelRequested) != poller && stopper.ShouldStop())
        {
            cancelled = await CancelRunAsync(context, job, stopper, run, stopper.Stop!.Message);
            cancelSent = true;
            context.SendEvent(pollerId, RunPoller.StopWaitingEventName, stopper.WaitUntil);
            job.Enter(JobPhase.Cancelling, pollerInstanceId: pollerId);

            // Backstop: an event sent to a poller that has not started yet can be lost on some backends.
            if (await context.WhenAnyOrTimerAsync(stopper.WaitUntil.AddSeconds(5), poller) is null)
            {
                return (cancelled.IsTerminal ? cancelled : run, cancelSent);
            }
        }

        var polled = await poller;
        job.Polls = polled.Polls;
        job.Saw(polled.Run);

        // The cancel's own answer wins when it ended the run (e.g. tool calls closed by it) and the poller did not
        // see an end of its own.
        return (cancelled is { IsTerminal: true } && !polled.Run.IsTerminal ? cancelled : polled.Run, cancelSent);
    }

    /// <summary>
    /// Answers one batch of tool calls: each call its own activity, all in parallel, every output back in one call.
    /// Calls the job's approval policy holds wait for a person's decision first (<see cref="ToolApprovals"/>); a
    /// rejected call is answered with an error output so the model can react to it. A batch that cannot be answered
    /// (duplicate or missing call ids) stops the job as failed.
    /// </summary>
    static async Task<RunState> ToolRoundAsync(
        TaskOrchestrationContext context, JobTracker job, JobStopper stopper, AgentRef agent, RunState run, AgentJobRequest request)
    {
        if (InvalidToolCalls(run.ToolCalls) is { } problem)
        {
            stopper.Fail("invalid_tool_calls", problem);
            return run;
        }

        // The job id travels with each call: job id + call id is the call's idempotency key, the same on every retry.
        Task<ToolOutput> Execute(ToolCallRequest call) =>
            context.CallActivityAsync<ToolOutput>(nameof(AgentJobActivities.ExecuteTool), call with { JobId = context.InstanceId, StopAtUtc = stopper.Deadline }, stopper.Working);

        // Calls that need no approval start at once; the others wait for their decisions meanwhile.
        var held = run.ToolCalls.Where(c => ToolApprovals.Holds(request.Approval, c.Name)).ToList();
        var running = run.ToolCalls.Except(held).Select(Execute).ToList();
        var rejected = new List<ToolOutput>();
        if (held.Count > 0)
        {
            if (await ToolApprovals.AwaitAsync(context, job, stopper, held, request.Approval!) is not { } decisions)
            {
                return run; // stopped while waiting: the end step cancels the run and closes its calls
            }

            running.AddRange(held.Where(c => decisions.Single(d => d.CallId == c.Id).Approved).Select(Execute));
            rejected.AddRange(decisions.Where(d => !d.Approved).Select(ToolApprovals.RejectionOutput));
        }

        job.Enter(JobPhase.RunningTools, pendingTools: [.. run.ToolCalls.Select(c => c.Name)]);
        var tools = Task.WhenAll(running);

        // A stop (cancel, deadline) that arrives while the tools run wins: the run is stopped and its calls closed;
        // the tools' outputs are not sent. Each tool activity watches its job and gives the tool up once the job stops
        // (AgentJobActivities.ExecuteTool), because Durable completes an orchestration only when none of its activities
        // is still open: a hung tool would otherwise hold the finished job in Running until the tool's own timeout.
        if (!await stopper.FinishesBeforeStopAsync(tools) || stopper.ShouldStop())
        {
            return run;
        }

        // Outputs go back in the order the service asked for the calls.
        var answered = (await tools).Concat(rejected).ToDictionary(o => o.ToolCallId, StringComparer.Ordinal);
        var outputs = run.ToolCalls.Select(c => answered[c.Id]).ToArray();
        job.ToolCalls += outputs.Length - rejected.Count;

        var key = WorkflowSteps.Key(context, $"tools:{job.ToolRounds++}");
        var window = StreamWindowSeconds(context, stopper, request);
        var submit = context.CallActivityAsync<RunState>(
            nameof(AgentJobActivities.SubmitToolOutputs), new SubmitToolOutputsInput(agent, run.Ref, outputs, key, window, context.InstanceId), stopper.Working);
        var submitted = await StreamedCallAsync(context, job, stopper, submit, new CancelStartedRunInput(run.ThreadId, key, run.Ref, "the job is stopping"));
        job.Saw(submitted);
        return submitted;
    }

    /// <summary>
    /// The stream window of the next streamed call: the job's setting (<see cref="PollingSettings.StreamWindowSeconds"/>),
    /// never past the job's deadline, so a held call cannot outlast the job.
    /// </summary>
    static int StreamWindowSeconds(TaskOrchestrationContext context, JobStopper stopper, AgentJobRequest request)
    {
        var untilDeadline = (int)Math.Ceiling((stopper.Deadline - context.CurrentUtcDateTime).TotalSeconds);
        return Math.Clamp(untilDeadline, 0, request.Polling!.StreamWindowSeconds ?? 0);
    }

    /// <summary>
    /// Waits for an activity that follows the run's stream (a start or a tool-output submission). A stop (cancel,
    /// deadline) that arrives meanwhile cancels the run that call started, found by its key, so the stream ends with
    /// the cancel instead of holding the job for the rest of its window; while the call has not started a run yet,
    /// the cancel is tried again each second, until the grace period ends.
    /// </summary>
    static async Task<RunState> StreamedCallAsync(
        TaskOrchestrationContext context, JobTracker job, JobStopper stopper, Task<RunState> call, CancelStartedRunInput cancel)
    {
        if (await stopper.FinishesBeforeStopAsync(call) || !stopper.ShouldStop())
        {
            return await call;
        }

        job.Enter(JobPhase.Cancelling);
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        while (!call.IsCompleted && context.CurrentUtcDateTime < stopper.WaitUntil)
        {
            try
            {
                if (await context.CallActivityAsync<RunState?>(
                    nameof(AgentJobActivities.CancelStartedRun), cancel with { Reason = stopper.Stop!.Message }, stopper.Stopping) is { } cancelled)
                {
                    job.CancelSent = true;
                    job.Saw(cancelled);
                    break;
                }
            }
            catch (TaskFailedException ex)
            {
                log.LogWarning("Cancel of the run started by {Key} was refused: {Message}", cancel.IdempotencyKey, WorkflowSteps.ServiceMessage(ex));
                break;
            }

            await context.WhenAnyOrTimerAsync(context.CurrentUtcDateTime.AddSeconds(1), call);
        }

        return await call;
    }

    static string? InvalidToolCalls(IReadOnlyList<ToolCallRequest> calls)
    {
        if (calls.FirstOrDefault(c => string.IsNullOrEmpty(c.Id)) is { } unnamed)
        {
            return $"The agent service asked for a call of tool '{unnamed.Name}' without a call id, so its output could not be matched to it.";
        }

        return calls.GroupBy(c => c.Id, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } twice
            ? $"The agent service asked for {twice.Count()} tool calls with the same call id '{twice.Key}', so their outputs could not be told apart."
            : null;
    }

    static async Task<RunState> CancelRunAsync(TaskOrchestrationContext context, JobTracker job, JobStopper stopper, RunState run, string reason)
    {
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        job.Enter(JobPhase.Cancelling);
        job.CancelSent = true;
        log.LogInformation("Cancelling run {RunId}: {Reason}", run.RunId, reason);
        try
        {
            var cancelled = await context.CallActivityAsync<RunState>(
                nameof(AgentJobActivities.CancelRun), new CancelRunInput(run, reason), stopper.Stopping);
            job.Saw(cancelled);
            return cancelled;
        }
        catch (TaskFailedException ex)
        {
            // The poller finds out where the run went.
            log.LogWarning("Cancel of run {RunId} was refused: {Message}", run.RunId, WorkflowSteps.ServiceMessage(ex));
            return run;
        }
    }
}

/// <summary>What a turn leaves: its run (null when it never started), the thread's messages and the run steps.</summary>
internal sealed record TurnResult(RunState? Run, IReadOnlyList<JobMessage> Messages, IReadOnlyList<JobRunStep> Steps);
