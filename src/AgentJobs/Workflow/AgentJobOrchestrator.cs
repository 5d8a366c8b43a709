using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Workflow;

/// <summary>
/// One agent job, top to bottom: create the agent, the thread and the user message, start the run, wait for it
/// with durable timers while answering its tool calls, honour a cancel request and the deadline, read the
/// results, and delete the agent on every path. Host-agnostic: the Functions app and the local host both run it.
/// </summary>
public sealed class AgentJobOrchestrator : TaskOrchestrator<AgentJobRequest, AgentJobResult>
{
    /// <summary>The orchestrator name.</summary>
    public const string Name = "AgentJob";

    /// <summary>The external event that asks a job to cancel its run gracefully (payload: a reason).</summary>
    public const string CancelEventName = "CancelJob";

    /// <summary>How long a cancelled run may take to reach a terminal status before cleanup goes ahead anyway.</summary>
    public static readonly TimeSpan CancelGracePeriod = TimeSpan.FromSeconds(60);

    /// <summary>The orchestration.</summary>
    public override async Task<AgentJobResult> RunAsync(TaskOrchestrationContext context, AgentJobRequest request)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);

        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        var job = new JobTracker(context);
        var polling = request.Polling ?? PollingSettings.Default;
        var deadline = job.StartedAt.AddSeconds(request.MaxDurationSeconds ?? AgentJobDefaults.MaxDurationSeconds);
        var cancelRequested = context.WaitForExternalEvent<string?>(CancelEventName);

        AgentRef? agent = null;
        var threadId = request.ThreadId;
        var createdThread = false;
        RunState? run = null;
        JobFailure? failure = null;
        var outcome = JobOutcome.Failed;
        IReadOnlyList<JobMessage> messages = [];
        IReadOnlyList<JobRunStep> steps = [];
        var timedOut = false;
        DateTime? cancelGraceEnds = null;

        async Task BeginCancelAsync(bool becauseOfDeadline)
        {
            timedOut |= becauseOfDeadline;
            run = await CancelRunAsync(context, job, run!, becauseOfDeadline ? "the job passed its maximum duration" : cancelRequested.Result);
            cancelGraceEnds = context.CurrentUtcDateTime.Add(CancelGracePeriod);
        }

        try
        {
            job.Enter(JobPhase.CreatingAgent);
            agent = await context.CallActivityAsync<AgentRef>(
                nameof(AgentJobActivities.CreateAgent),
                new CreateAgentInput(
                    request.AgentName ?? AgentJobDefaults.AgentName,
                    request.Model ?? AgentJobDefaults.Model,
                    request.Instructions ?? AgentJobDefaults.Instructions,
                    request.Tools ?? [],
                    context.InstanceId,
                    Key(context, "agent")),
                AgentJobRetry.ServiceCalls);
            job.Agent = agent.Id;

            if (threadId is null)
            {
                job.Enter(JobPhase.CreatingThread);
                threadId = await context.CallActivityAsync<string>(
                    nameof(AgentJobActivities.CreateThread), new CreateThreadInput(Key(context, "thread")), AgentJobRetry.ServiceCalls);
                createdThread = true;
            }

            job.Thread = threadId;
            job.Enter(JobPhase.AddingMessage);
            await context.CallActivityAsync<string>(
                nameof(AgentJobActivities.AddMessage), new AddMessageInput(threadId, request.Prompt, Key(context, "message")), AgentJobRetry.ServiceCalls);

            job.Enter(JobPhase.StartingRun);
            run = await context.CallActivityAsync<RunState>(
                nameof(AgentJobActivities.StartRun), new StartRunInput(agent, threadId, Key(context, "run")), AgentJobRetry.ServiceCalls);
            job.Saw(run);

            // Wait for the run: answer tool calls, stop at the deadline or on the caller's request. Once a cancel
            // has begun, the run gets a grace period to reach a terminal status; tool calls are no longer answered.
            while (!run.IsTerminal)
            {
                if (cancelGraceEnds is null && (cancelRequested.IsCompleted || context.CurrentUtcDateTime >= deadline))
                {
                    await BeginCancelAsync(becauseOfDeadline: !cancelRequested.IsCompleted);
                    continue;
                }

                if (cancelGraceEnds is null && run.Status == AgentRunStatus.RequiresAction)
                {
                    job.Enter(JobPhase.RunningTools, pendingTools: [.. run.ToolCalls.Select(c => c.Name)]);
                    var outputs = await Task.WhenAll(run.ToolCalls.Select(call =>
                        context.CallActivityAsync<ToolOutput>(nameof(AgentJobActivities.ExecuteTool), call, AgentJobRetry.ServiceCalls)));
                    job.ToolCalls += outputs.Length;
                    run = await context.CallActivityAsync<RunState>(
                        nameof(AgentJobActivities.SubmitToolOutputs), new SubmitToolOutputsInput(agent, run.Ref, outputs), AgentJobRetry.ServiceCalls);
                    job.Saw(run);
                    continue;
                }

                var pollUntil = cancelGraceEnds ?? deadline;
                if (context.CurrentUtcDateTime >= pollUntil)
                {
                    log.LogWarning("Run {RunId} did not finish cancelling in time; cleaning up anyway.", run.RunId);
                    break;
                }

                var pollerId = $"{context.InstanceId}:poll:{job.PollerCalls++}";
                job.Enter(JobPhase.Polling, pollerInstanceId: pollerId);
                var poller = context.CallSubOrchestratorAsync<PollOutcome>(
                    RunPoller.Name,
                    new PollRunInput(run, pollUntil, polling, job.Polls, ReturnOnRequiresAction: cancelGraceEnds is null),
                    new SubOrchestrationOptions { InstanceId = pollerId });

                if (cancelGraceEnds is null && await Task.WhenAny(poller, cancelRequested) == cancelRequested && !poller.IsCompleted)
                {
                    // The caller asked to cancel while the poller waits: cancel the run; the poller sees it end.
                    await BeginCancelAsync(becauseOfDeadline: false);
                }

                // A poller that reached the deadline returns the run as it was; the next turn cancels or gives up.
                var polled = await poller;
                job.Polls = polled.Polls;
                run = polled.Run;
                job.Saw(run);
            }

            outcome = Outcome(run, timedOut, cancelRequested.IsCompleted);
            failure = outcome switch
            {
                JobOutcome.Completed => null,
                JobOutcome.TimedOut => new JobFailure("timed_out", $"The job passed its maximum duration of {(deadline - job.StartedAt).TotalSeconds:0} s; the run was cancelled."),
                JobOutcome.Cancelled when cancelRequested.IsCompleted => new JobFailure("cancelled", $"Cancelled on request: {cancelRequested.Result ?? "no reason given"}."),
                _ => run.Error ?? new JobFailure(run.RawStatus, RunEndedMessage(run)),
            };

            job.Enter(JobPhase.CollectingResults);
            messages = await context.CallActivityAsync<IReadOnlyList<JobMessage>>(
                nameof(AgentJobActivities.ListMessages), threadId, AgentJobRetry.ServiceCalls);
            steps = await context.CallActivityAsync<IReadOnlyList<JobRunStep>>(
                nameof(AgentJobActivities.ListRunSteps), new ListRunStepsInput(threadId, job.RunIds), AgentJobRetry.ServiceCalls);
        }
        catch (TaskFailedException ex)
        {
            // A service call failed for good (not transient, or retries exhausted). Keep the service's message.
            outcome = JobOutcome.Failed;
            failure = new JobFailure("agent_service_error", ex.FailureDetails.ErrorMessage);
            log.LogError("Job {JobId} failed in {Phase}: {Message}", context.InstanceId, job.Phase, ex.FailureDetails.ErrorMessage);
            if (run is { IsTerminal: false })
            {
                await TryAsync(context, nameof(AgentJobActivities.CancelRun), run.Ref);
            }
        }

        // Cleanup runs on every path. A thread the caller supplied is never deleted.
        job.Enter(JobPhase.CleaningUp);
        var agentDeleted = agent is null || await TryAsync(context, nameof(AgentJobActivities.DeleteAgent), agent);
        var threadDeleted = createdThread && request.DeleteThread && threadId is not null &&
                            await TryAsync(context, nameof(AgentJobActivities.DeleteThread), threadId);
        if (!agentDeleted)
        {
            failure ??= new JobFailure("cleanup_failed", $"The agent {agent!.Id} could not be deleted; delete it by hand.");
        }

        job.Enter(JobPhase.Done);
        return new AgentJobResult(
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
            job.Elapsed);
    }

    static async Task<RunState> CancelRunAsync(TaskOrchestrationContext context, JobTracker job, RunState run, string? reason)
    {
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        job.Enter(JobPhase.Cancelling);
        log.LogInformation("Cancelling run {RunId}: {Reason}", run.RunId, reason);
        try
        {
            var cancelled = await context.CallActivityAsync<RunState>(nameof(AgentJobActivities.CancelRun), run.Ref, AgentJobRetry.Cleanup);
            job.Saw(cancelled);
            return cancelled;
        }
        catch (TaskFailedException ex)
        {
            // Typically the run ended in the meantime; the poller finds out which way.
            log.LogWarning("Cancel of run {RunId} was refused: {Message}", run.RunId, ex.FailureDetails.ErrorMessage);
            return run;
        }
    }

    // Cleanup steps: retried hard, and a final failure is reported in the result instead of thrown.
    static async Task<bool> TryAsync<TInput>(TaskOrchestrationContext context, string activity, TInput input)
    {
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        try
        {
            await context.CallActivityAsync<object>(activity, input, AgentJobRetry.Cleanup);
            return true;
        }
        catch (TaskFailedException ex)
        {
            log.LogError("{Activity} failed: {Message}", activity, ex.FailureDetails.ErrorMessage);
            return false;
        }
    }

    static JobOutcome Outcome(RunState run, bool timedOut, bool cancelRequested) => run.Status switch
    {
        AgentRunStatus.Completed => JobOutcome.Completed,
        _ when timedOut => JobOutcome.TimedOut,
        _ when cancelRequested => JobOutcome.Cancelled,
        AgentRunStatus.Cancelled => JobOutcome.Cancelled,
        AgentRunStatus.Expired => JobOutcome.Expired,
        AgentRunStatus.Incomplete => JobOutcome.Incomplete,
        _ => JobOutcome.Failed,
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
