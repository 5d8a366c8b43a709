using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Telemetry;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Workflow;

/// <summary>
/// One agent job, top to bottom: create the agent and the thread, add the user's message and start the run, wait
/// for it with durable timers while answering its tool calls, stop it when asked, at the deadline or on a failure,
/// read the results, and delete the agent on every path. Host-agnostic: the Functions app and the local host both
/// run it. Its input is a request settled at the edge (<see cref="AgentJobPolicy.Settle"/>).
/// </summary>
public sealed class AgentJobOrchestrator : TaskOrchestrator<AgentJobRequest, AgentJobResult>
{
    /// <summary>The orchestrator name.</summary>
    public const string Name = "AgentJob";

    /// <summary>The external event that asks a job to cancel its run gracefully (payload: a reason).</summary>
    public const string CancelEventName = "CancelJob";

    /// <summary>The orchestration.</summary>
    public override async Task<AgentJobResult> RunAsync(TaskOrchestrationContext context, AgentJobRequest request)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);

        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        AgentJobsTelemetry.JobStarted(context, request);
        var job = new JobTracker(context);
        var stopper = new JobStopper(
            context, job, request.MaxDurationSeconds ?? AgentJobDefaults.MaxDurationSeconds, request.CancelGraceSeconds ?? AgentJobDefaults.CancelGraceSeconds);

        AgentRef? agent = null;
        var threadId = request.ThreadId;
        var createdThread = false;
        RunState? run = null;
        IReadOnlyList<JobMessage> messages = [];
        IReadOnlyList<JobRunStep> steps = [];

        try
        {
            // A cancel can arrive before anything exists: each create step first checks for it, so a job
            // cancelled early creates nothing more.
            if (!AgentJobPolicy.IsSettled(request))
            {
                stopper.Fail("invalid_request", "The job's request was not settled (model, limits); schedule jobs through AgentJobPolicy.Settle, as the API does.");
            }

            if (!stopper.ShouldStop())
            {
                job.Enter(JobPhase.CreatingAgent);
                agent = await context.CallActivityAsync<AgentRef>(
                    nameof(AgentJobActivities.CreateAgent),
                    new CreateAgentInput(request.AgentName!, request.Model!, request.Instructions!, request.Tools!, context.InstanceId, Key(context, "agent")),
                    stopper.Working);
                job.Agent = agent.Id;
            }

            if (threadId is null && !stopper.ShouldStop())
            {
                job.Enter(JobPhase.CreatingThread);
                threadId = await context.CallActivityAsync<string>(
                    nameof(AgentJobActivities.CreateThread), new CreateThreadInput(Key(context, "thread")), stopper.Working);
                createdThread = true;
            }

            job.Thread = threadId;
            if (!stopper.ShouldStop())
            {
                job.Enter(JobPhase.StartingRun);
                run = await context.CallActivityAsync<RunState>(
                    nameof(AgentJobActivities.StartRun), new StartRunInput(agent!, threadId!, request.Prompt, Key(context, "run")), stopper.Working);
                job.Saw(run);
                run = await WaitForRunAsync(context, job, stopper, agent!, run, request);
            }
        }
        catch (Exception ex)
        {
            // Any failure (a service call that failed for good, a poller that failed, a bug) still ends in cleanup. A
            // failure that comes from stopping (retries given up at a cancel request or the deadline) is the stop's.
            var (code, message) = ex is TaskFailedException failed
                ? ("agent_service_error", ServiceMessage(failed))
                : ("workflow_error", $"{ex.GetType().Name}: {ex.Message}");
            log.LogError("Job {JobId} failed in {Phase}: {Message}", context.InstanceId, job.Phase, message);
            if (!stopper.ShouldStop())
            {
                stopper.Fail(code, message);
            }
        }

        if (run is not null)
        {
            CheckTokenBudget(job, stopper, request);
        }

        // A run that did not complete is stopped if it still runs, and any tool call it left open is answered, so the
        // thread can be continued by the next job. Both steps are no-ops where there is nothing to do.
        if (run is { Status: not AgentRunStatus.Completed } && threadId is not null)
        {
            var reason = stopper.Stop?.Message ?? $"the run ended as '{run.RawStatus}'";
            run = run.IsTerminal || job.CancelSent ? run : await CancelRunAsync(context, job, stopper, run, reason);
            await TryAsync(context, nameof(AgentJobActivities.CloseToolCalls), new CloseToolCallsInput(threadId, reason), stopper.Stopping);
        }

        if (run is not null && stopper.Failure is null)
        {
            try
            {
                job.Enter(JobPhase.CollectingResults);
                messages = await context.CallActivityAsync<IReadOnlyList<JobMessage>>(
                    nameof(AgentJobActivities.ListMessages), threadId!, stopper.Stopping);
                steps = await context.CallActivityAsync<IReadOnlyList<JobRunStep>>(
                    nameof(AgentJobActivities.ListRunSteps), new ListRunStepsInput(threadId!, job.RunIds), stopper.Stopping);
            }
            catch (TaskFailedException ex)
            {
                stopper.Fail("agent_service_error", ServiceMessage(ex));
            }
        }

        // Cleanup runs on every path. A thread the caller supplied is never deleted.
        job.Enter(JobPhase.CleaningUp);
        var agentDeleted = agent is null || await TryAsync(context, nameof(AgentJobActivities.DeleteAgent), agent, AgentJobRetry.Cleanup);
        var threadDeleted = createdThread && request.DeleteThread && await TryAsync(context, nameof(AgentJobActivities.DeleteThread), threadId!, AgentJobRetry.Cleanup);

        var outcome = Outcome(run, stopper);
        var failure = Failure(outcome, run, stopper);
        if (!agentDeleted)
        {
            failure ??= new JobFailure("cleanup_failed", $"The agent {agent!.Id} could not be deleted; delete it by hand.");
        }

        job.Enter(JobPhase.Done);
        var result = new AgentJobResult(
            outcome,
            run?.RawStatus,
            Reply(messages, job.RunIds),
            threadId,
            agent?.Id,
            job.RunIds,
            messages,
            steps,
            job.Usage,
            agentDeleted,
            threadDeleted,
            failure,
            job.Polls,
            job.ToolCalls,
            job.Elapsed,
            stopper.Recorded(run));
        AgentJobsTelemetry.JobFinished(context, request, result);
        return result;
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
        var cancelSent = false;
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

                run = await ToolRoundAsync(context, job, stopper, agent, run);
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
        var poller = context.CallSubOrchestratorAsync<PollOutcome>(
            RunPoller.Name, new PollRunInput(run, stopper.WaitUntil, polling, job.Polls), new SubOrchestrationOptions { InstanceId = pollerId });

        RunState? cancelled = null;
        if (!cancelSent && await Task.WhenAny(poller, stopper.CancelRequested) != poller && stopper.ShouldStop())
        {
            cancelled = await CancelRunAsync(context, job, stopper, run, stopper.Stop!.Message);
            cancelSent = true;
            context.SendEvent(pollerId, RunPoller.StopWaitingEventName, stopper.WaitUntil);
            job.Enter(JobPhase.Cancelling, pollerInstanceId: pollerId);

            // Backstop: an event sent to a poller that has not started yet can be lost on some backends.
            using var backstopCancel = new CancellationTokenSource();
            var backstop = context.CreateTimer(stopper.WaitUntil.AddSeconds(5), backstopCancel.Token);
            if (await Task.WhenAny(poller, backstop) == backstop)
            {
                return (cancelled.IsTerminal ? cancelled : run, cancelSent);
            }

#pragma warning disable CA1849 // CancelAsync would run the timer's continuation off the orchestrator's thread.
            backstopCancel.Cancel();
#pragma warning restore CA1849
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
    /// A batch that cannot be answered (duplicate or missing call ids) stops the job as failed.
    /// </summary>
    static async Task<RunState> ToolRoundAsync(TaskOrchestrationContext context, JobTracker job, JobStopper stopper, AgentRef agent, RunState run)
    {
        if (InvalidToolCalls(run.ToolCalls) is { } problem)
        {
            stopper.Fail("invalid_tool_calls", problem);
            return run;
        }

        job.Enter(JobPhase.RunningTools, pendingTools: [.. run.ToolCalls.Select(c => c.Name)]);
        // The job id travels with each call: job id + call id is the call's idempotency key, the same on every retry.
        var tools = Task.WhenAll(run.ToolCalls.Select(call =>
            context.CallActivityAsync<ToolOutput>(nameof(AgentJobActivities.ExecuteTool), call with { JobId = context.InstanceId }, stopper.Working)));

        // A stop (cancel, deadline) that arrives while the tools run wins: the run is stopped and its calls closed;
        // the tools' activities finish on their own and their outputs are not sent.
        if (!await stopper.FinishesBeforeStopAsync(tools) || stopper.ShouldStop())
        {
            return run;
        }

        var outputs = await tools;
        job.ToolCalls += outputs.Length;

        var submitted = await context.CallActivityAsync<RunState>(
            nameof(AgentJobActivities.SubmitToolOutputs),
            new SubmitToolOutputsInput(agent, run.Ref, outputs, Key(context, $"tools:{job.ToolRounds++}")),
            stopper.Working);
        job.Saw(submitted);
        return submitted;
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
            log.LogWarning("Cancel of run {RunId} was refused: {Message}", run.RunId, ServiceMessage(ex));
            return run;
        }
    }

    // Cleanup steps: retried hard, and a final failure is reported in the result instead of thrown.
    static async Task<bool> TryAsync<TInput>(TaskOrchestrationContext context, string activity, TInput input, TaskOptions retry)
    {
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        try
        {
            await context.CallActivityAsync<object>(activity, input, retry);
            return true;
        }
        catch (TaskFailedException ex)
        {
            log.LogError("{Activity} failed: {Message}", activity, ServiceMessage(ex));
            return false;
        }
    }

    /// <summary>The service's own words: the failure's message without the Durable wrapper ("Task 'GetRun' (#9) failed with an unhandled exception: ").</summary>
    static string ServiceMessage(TaskFailedException ex)
    {
        var message = ex.FailureDetails.ErrorMessage;
        while (System.Text.RegularExpressions.Regex.Match(message, @"^Task '[^']+' \(#\d+\) failed with an unhandled exception: ") is { Success: true } wrapper)
        {
            message = message[wrapper.Length..];
        }

        return message;
    }

    /// <summary>
    /// A failure or a budget the job went over decides first (a budget can only be judged once usage is reported,
    /// which classic services do when the run ends); then the run's own ending (completed, failed, expired,
    /// incomplete); a run that was stopped, or never started, ends as the stop says.
    /// </summary>
    static JobOutcome Outcome(RunState? run, JobStopper stopper) => (run?.Status, stopper.Stop?.Reason) switch
    {
        (_, StopReason.Failed) => JobOutcome.Failed,
        (_, StopReason.BudgetExceeded) => JobOutcome.BudgetExceeded,
        (AgentRunStatus.Completed, _) => JobOutcome.Completed,
        (AgentRunStatus.Failed or AgentRunStatus.Unknown, _) => JobOutcome.Failed,
        (AgentRunStatus.Expired, _) => JobOutcome.Expired,
        (AgentRunStatus.Incomplete, _) => JobOutcome.Incomplete,
        (_, StopReason.DeadlinePassed) => JobOutcome.TimedOut,
        (_, StopReason.CancelRequested) => JobOutcome.Cancelled,
        (AgentRunStatus.Cancelled, _) => JobOutcome.Cancelled,
        _ => JobOutcome.Failed,
    };

    static JobFailure? Failure(JobOutcome outcome, RunState? run, JobStopper stopper) => outcome switch
    {
        JobOutcome.Completed => null,
        _ when stopper.Failure is { } failure => failure,
        JobOutcome.TimedOut => new JobFailure("timed_out", $"The job passed its maximum duration of {stopper.MaxDurationSeconds} s; {(run is null ? "the run had not started." : "the run was cancelled.")}"),
        JobOutcome.BudgetExceeded => new JobFailure("budget_exceeded", $"The job went over a budget: {stopper.Stop!.Message}; " +
            (run?.Status == AgentRunStatus.Completed ? "the run had already completed (its reply is kept)." : "the run was stopped.")),
        JobOutcome.Cancelled when stopper.Stop is { Reason: StopReason.CancelRequested } stop =>
            new JobFailure("cancelled", $"Cancelled on request: {stop.Message}.{(run is null ? " The run had not started; nothing more was created." : "")}"),
        _ when run is null => new JobFailure("not_started", "The run was never started."),
        _ => run.Error ?? new JobFailure(run.RawStatus, RunEndedMessage(run)),
    };

    static string RunEndedMessage(RunState run) => run.Status switch
    {
        AgentRunStatus.Incomplete => $"The run stopped early: {run.IncompleteReason ?? "no reason given"}.",
        AgentRunStatus.Expired => "The run expired on the service before it finished.",
        AgentRunStatus.Cancelled => "The run was cancelled by the service.",
        AgentRunStatus.Unknown => $"The run ended with a status this version does not know: '{run.RawStatus}'.",
        _ => $"The run ended as '{run.RawStatus}'.",
    };

    // The reply is what the agent said in this job's runs; services that do not tag messages with runs get the
    // last assistant message.
    static string? Reply(IReadOnlyList<JobMessage> messages, IReadOnlyList<string> runIds)
    {
        var ours = messages.Where(m => m.Role == "assistant" && m.RunId is not null && runIds.Contains(m.RunId)).Select(m => m.Text).ToList();
        if (ours.Count > 0)
        {
            return string.Join("\n\n", ours);
        }

        return messages.LastOrDefault(m => m.Role == "assistant" && m.RunId is null)?.Text;
    }

    static string Key(TaskOrchestrationContext context, string step) => $"{context.InstanceId}:{step}";
}
