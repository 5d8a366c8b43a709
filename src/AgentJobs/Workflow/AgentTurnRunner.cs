using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>
/// One turn: a user message answered by one run. Starts the run with the message, waits for it with durable
/// timers while answering its tool calls (approvals included), stops it when the stopper says so, answers any
/// tool call it left open so the thread stays usable, and reads the messages and run steps. Jobs run one turn;
/// sessions run one per message. The agent and the thread belong to the caller, which deletes them. One runner
/// runs one turn: it holds the turn's state (the run, whether a cancel was sent, the tool rounds and pollers so far)
/// beside the tally (<see cref="JobTracker"/>) and the stop rules (<see cref="JobStopper"/>) it shares with its caller.
/// </summary>
internal sealed class AgentTurnRunner(
    TaskOrchestrationContext context, JobTracker job, JobStopper stopper, AgentRef agent, string threadId, AgentJobSpec request)
{
    /// <summary>The run as the turn last settled on it: started, waited for, stopped; null until it has started.</summary>
    RunState? run;

    /// <summary>Whether the turn has asked the service to cancel its run (a cancel of the run, or of the run a streamed call started).</summary>
    bool cancelSent;

    /// <summary>Poller sub-orchestrations started so far (each gets its own instance id).</summary>
    int pollerCalls;

    /// <summary>Tool rounds answered so far (each submission gets its own idempotency key; the tool-round budget counts them).</summary>
    int toolRounds;

    /// <summary>The idempotency key of the run's start once it was asked for: from then on a run may exist on the service.</summary>
    string? startKey;

    /// <summary>A turn that never started: no run, nothing read.</summary>
    public static TurnResult NotStarted { get; } = new(null, [], []);

    /// <summary>Runs the turn; never throws for a service failure (the stopper records it).</summary>
    public async Task<TurnResult> RunAsync()
    {
        try
        {
            if (!stopper.ShouldStop())
            {
                run = await StartRunAsync();
                run = await WaitForRunAsync(run);
            }
        }
        catch (Exception ex)
        {
            stopper.Fail(ex);
        }

        if (run is null)
        {
            await EndUnseenRunAsync();
            return NotStarted;
        }

        CheckTokenBudget();
        await EndUnfinishedRunAsync(run);
        return stopper.Failure is not null ? new TurnResult(run, [], []) : await CollectResultsAsync(run);
    }

    /// <summary>Starts the run with the turn's message, following its stream for the job's stream window.</summary>
    async Task<RunState> StartRunAsync()
    {
        job.Enter(JobPhase.StartingRun);
        var key = startKey = WorkflowSteps.Key(context, "run");
        var start = context.CallActivityAsync<RunState>(
            nameof(AgentJobActivities.StartRun), new StartRunInput(agent, threadId, request.Prompt, key, StreamWindowSeconds(), context.InstanceId), stopper.Working);
        var started = await StreamedCallAsync(start, new CancelStartedRunInput(threadId, key, Previous: null, "the job is stopping"));
        job.Saw(started);
        return started;
    }

    /// <summary>
    /// A run that did not complete is stopped if it still runs, and any tool call it left open is answered, so the
    /// thread can be continued by the next turn or job. Both steps are no-ops where there is nothing to do.
    /// </summary>
    async Task EndUnfinishedRunAsync(RunState ended)
    {
        if (ended is { Status: not AgentRunStatus.Completed })
        {
            var reason = stopper.Stop?.Message ?? $"the run ended as '{ended.RawStatus}'";
            run = ended.IsTerminal || cancelSent ? ended : await CancelRunAsync(ended, reason);
            await WorkflowSteps.TryAsync(context, nameof(AgentJobActivities.CloseToolCalls), new CloseToolCallsInput(threadId, reason), stopper.Stopping);
        }
    }

    /// <summary>
    /// A start that failed, or was given up by a stop, after it was asked for may still have created a run (a dropped
    /// stream, a lost answer, retries cut short): that run is cancelled by its key and any tool call it left open is
    /// answered, so the thread takes the next turn or job. A turn that never asked for a start has nothing to end.
    /// </summary>
    async Task EndUnseenRunAsync()
    {
        if (startKey is null)
        {
            return;
        }

        var reason = stopper.Stop?.Message ?? "the run's start failed";
        if (!cancelSent)
        {
            await WorkflowSteps.TryAsync(context, nameof(AgentJobActivities.CancelStartedRun), new CancelStartedRunInput(threadId, startKey, Previous: null, reason), stopper.Stopping);
        }

        await WorkflowSteps.TryAsync(context, nameof(AgentJobActivities.CloseToolCalls), new CloseToolCallsInput(threadId, reason), stopper.Stopping);
    }

    /// <summary>Reads the thread's messages and the turn's run steps; a read that fails for good fails the turn.</summary>
    async Task<TurnResult> CollectResultsAsync(RunState ended)
    {
        try
        {
            // Two independent reads, in parallel: one orchestration episode and one round trip fewer than in turn.
            job.Enter(JobPhase.CollectingResults);
            var messages = context.CallActivityAsync<IReadOnlyList<JobMessage>>(
                nameof(AgentJobActivities.ListMessages), threadId, stopper.Stopping);
            var steps = context.CallActivityAsync<IReadOnlyList<JobRunStep>>(
                nameof(AgentJobActivities.ListRunSteps), new ListRunStepsInput(threadId, job.RunIds), stopper.Stopping);
            await Task.WhenAll(messages, steps);
            return new TurnResult(ended, await messages, ToolApprovals.Annotate(await steps, job.Approvals));
        }
        catch (TaskFailedException ex)
        {
            stopper.Fail(WorkflowSteps.FailureCode(ex), WorkflowSteps.ServiceMessage(ex));
            return new TurnResult(ended, [], []);
        }
    }

    /// <summary>
    /// Waits for the run to end, answering its tool calls, and stops it when the stopper says so. Once stopping,
    /// the run is cancelled once (which also closes any tool calls it waits for) and waited for until the grace
    /// period ends; a run that can no longer change by itself is not waited for at all.
    /// </summary>
    async Task<RunState> WaitForRunAsync(RunState current)
    {
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();

        // Whether this wait has cancelled the run. It starts as the turn's flag (a stop during the start's stream
        // cancelled the run already) but, unlike it, is not set by a cancel made while tool outputs were submitted: the
        // wait then still cancels the run the submission left running.
        var waitCancelSent = cancelSent;
        while (!current.IsTerminal)
        {
            CheckTokenBudget();
            if (!waitCancelSent && stopper.ShouldStop())
            {
                current = await CancelRunAsync(current, stopper.Stop!.Message);
                waitCancelSent = true;
                continue;
            }

            if (current.Status == AgentRunStatus.RequiresAction)
            {
                if (waitCancelSent)
                {
                    // The service kept the calls open after the cancel; nothing will change them now.
                    log.RunWaitsForToolsAfterCancel(current.RunId);
                    break;
                }

                if (toolRounds >= request.MaxToolRounds)
                {
                    stopper.ExceedBudget($"maxToolRounds: the agent asked for tool round {toolRounds + 1}; its budget is {request.MaxToolRounds}");
                    continue;
                }

                current = await ToolRoundAsync(current);
                continue;
            }

            if (waitCancelSent && context.CurrentUtcDateTime >= stopper.WaitUntil)
            {
                log.RunCancelTimedOut(current.RunId);
                break;
            }

            (current, waitCancelSent) = await PollAsync(current, waitCancelSent);
        }

        return current;
    }

    /// <summary>Stops the job when its runs have used more tokens than its budget (services report usage as they go, or at the end).</summary>
    void CheckTokenBudget()
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
    async Task<(RunState Run, bool CancelSent)> PollAsync(RunState current, bool waitCancelSent)
    {
        var polling = request.Polling;
        var pollerId = InstanceIds.Poller(context.InstanceId, pollerCalls++);
        job.Enter(waitCancelSent ? JobPhase.Cancelling : JobPhase.Polling, pollerInstanceId: pollerId);
        var input = new PollRunInput(current, stopper.WaitUntil, polling, job.Polls);
        if (current.StreamedMs is { } streamedMs && current.PollAfterMs is null && !waitCancelSent)
        {
            // The run was followed through its stream: poll on the schedule a polled run would have had.
            var (untilNext, delay) = PollDelay.AfterWaiting(polling, TimeSpan.FromMilliseconds(streamedMs));
            input = input with { NextDelayMs = delay.TotalMilliseconds, NextPollAtUtc = context.CurrentUtcDateTime + untilNext };
        }

        var poller = context.CallSubOrchestratorAsync<PollOutcome>(
            RunPoller.Name, input, new SubOrchestrationOptions { InstanceId = pollerId });

        RunState? cancelled = null;
        if (!waitCancelSent && await Task.WhenAny(poller, stopper.CancelRequested) != poller && stopper.ShouldStop())
        {
            cancelled = await CancelRunAsync(current, stopper.Stop!.Message);
            waitCancelSent = true;
            context.SendEvent(pollerId, RunPoller.StopWaitingEventName, stopper.WaitUntil);
            job.Enter(JobPhase.Cancelling, pollerInstanceId: pollerId);

            // Backstop: an event sent to a poller that has not started yet can be lost on some backends.
            if (await context.WhenAnyOrTimerAsync(stopper.WaitUntil.AddSeconds(5), poller) is null)
            {
                return (cancelled.IsTerminal ? cancelled : current, waitCancelSent);
            }
        }

        var polled = await poller;
        job.Polled(polled);

        // The cancel's own answer wins when it ended the run (e.g. tool calls closed by it) and the poller did not
        // see an end of its own.
        return (cancelled is { IsTerminal: true } && !polled.Run.IsTerminal ? cancelled : polled.Run, waitCancelSent);
    }

    /// <summary>
    /// Answers one batch of tool calls: each call its own activity, all in parallel, every output back in one call.
    /// Calls the job's approval policy holds wait for a person's decision first (<see cref="ToolApprovals"/>); a
    /// rejected call is answered with an error output so the model can react to it. A batch that cannot be answered
    /// (duplicate or missing call ids) stops the job as failed.
    /// </summary>
    async Task<RunState> ToolRoundAsync(RunState current)
    {
        if (InvalidToolCalls(current.ToolCalls) is { } problem)
        {
            stopper.Fail("invalid_tool_calls", problem);
            return current;
        }

        // The job id travels with each call: job id + call id is the call's idempotency key, the same on every retry.
        Task<ToolOutput> Execute(ToolCallRequest call) =>
            context.CallActivityAsync<ToolOutput>(nameof(AgentJobActivities.ExecuteTool), call with { JobId = context.InstanceId, StopAtUtc = stopper.Deadline }, stopper.Working);

        // Calls that need no approval start at once; the others wait for their decisions meanwhile.
        var held = current.ToolCalls.Where(c => ToolApprovals.Holds(request.Approval, c.Name)).ToList();
        var running = current.ToolCalls.Except(held).Select(Execute).ToList();
        var rejected = new List<ToolOutput>();
        if (held.Count > 0 && request.Approval is { } approval)
        {
            if (await ToolApprovals.AwaitAsync(context, job, stopper, held, approval) is not { } decisions)
            {
                return current; // stopped while waiting: the end step cancels the run and closes its calls
            }

            running.AddRange(held.Where(c => decisions.Single(d => d.CallId == c.Id).Approved).Select(Execute));
            rejected.AddRange(decisions.Where(d => !d.Approved).Select(ToolApprovals.RejectionOutput));
        }

        job.Enter(JobPhase.RunningTools, pendingTools: [.. current.ToolCalls.Select(c => c.Name)]);
        var tools = Task.WhenAll(running);

        // A stop (cancel, deadline) that arrives while the tools run wins: the run is stopped and its calls closed;
        // the tools' outputs are not sent. Each tool activity watches its job and gives the tool up once the job stops
        // (AgentJobActivities.ExecuteTool), because Durable completes an orchestration only when none of its activities
        // is still open: a hung tool would otherwise hold the finished job in Running until the tool's own timeout.
        if (!await stopper.FinishesBeforeStopAsync(tools) || stopper.ShouldStop())
        {
            return current;
        }

        // Outputs go back in the order the service asked for the calls.
        var answered = (await tools).Concat(rejected).ToDictionary(o => o.ToolCallId, StringComparer.Ordinal);
        var outputs = current.ToolCalls.Select(c => answered[c.Id]).ToArray();
        job.ToolsRan(outputs.Length - rejected.Count);

        var key = WorkflowSteps.Key(context, $"tools:{toolRounds++}");
        var submit = context.CallActivityAsync<RunState>(
            nameof(AgentJobActivities.SubmitToolOutputs), new SubmitToolOutputsInput(agent, current.Ref, outputs, key, StreamWindowSeconds(), context.InstanceId), stopper.Working);
        var submitted = await StreamedCallAsync(submit, new CancelStartedRunInput(current.ThreadId, key, current.Ref, "the job is stopping"));
        job.Saw(submitted);
        return submitted;
    }

    /// <summary>
    /// The stream window of the next streamed call: the job's setting (<see cref="PollingSettings.StreamWindowSeconds"/>),
    /// never past the job's deadline, so a held call cannot outlast the job.
    /// </summary>
    int StreamWindowSeconds()
    {
        var untilDeadline = (int)Math.Ceiling((stopper.Deadline - context.CurrentUtcDateTime).TotalSeconds);
        return Math.Clamp(untilDeadline, 0, request.Polling.StreamWindowSeconds ?? 0);
    }

    /// <summary>
    /// Waits for an activity that follows the run's stream (a start or a tool-output submission). A stop (cancel,
    /// deadline) that arrives meanwhile cancels the run that call started, found by its key, so the stream ends with
    /// the cancel instead of holding the job for the rest of its window; while the call has not started a run yet,
    /// the cancel is tried again each second, until the grace period ends.
    /// </summary>
    async Task<RunState> StreamedCallAsync(Task<RunState> call, CancelStartedRunInput cancel)
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
                    cancelSent = true;
                    job.Saw(cancelled);
                    break;
                }
            }
            catch (TaskFailedException ex)
            {
                log.RunCancelByKeyRefused(cancel.IdempotencyKey, WorkflowSteps.ServiceMessage(ex));
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

    async Task<RunState> CancelRunAsync(RunState current, string reason)
    {
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        job.Enter(JobPhase.Cancelling);
        cancelSent = true;
        log.RunCancelling(current.RunId, reason);
        try
        {
            var cancelled = await context.CallActivityAsync<RunState>(
                nameof(AgentJobActivities.CancelRun), new CancelRunInput(current, reason), stopper.Stopping);
            job.Saw(cancelled);
            return cancelled;
        }
        catch (TaskFailedException ex)
        {
            // The poller finds out where the run went.
            log.RunCancelRefused(current.RunId, WorkflowSteps.ServiceMessage(ex));
            return current;
        }
    }
}

/// <summary>What a turn leaves: its run (null when it never started), the thread's messages and the run steps.</summary>
internal sealed record TurnResult(RunState? Run, IReadOnlyList<JobMessage> Messages, IReadOnlyList<JobRunStep> Steps);
