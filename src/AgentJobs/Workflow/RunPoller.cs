using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>Input of the poller.</summary>
/// <param name="Run">The run as last seen.</param>
/// <param name="DeadlineUtc">Return when orchestration time reaches this, whatever the run is doing.</param>
/// <param name="Polling">Backoff settings.</param>
/// <param name="Polls">Polls so far in the job.</param>
/// <param name="NextDelayMs">The delay carried over from the previous generation.</param>
public sealed record PollRunInput(
    RunState Run,
    DateTime DeadlineUtc,
    PollingSettings Polling,
    int Polls,
    double NextDelayMs = 0);

/// <summary>Why the poller returned, with the run as last seen.</summary>
/// <param name="Run">The run.</param>
/// <param name="Polls">Polls so far in the job.</param>
/// <param name="DeadlineReached">The deadline passed before the run needed anything or ended.</param>
public sealed record PollOutcome(RunState Run, int Polls, bool DeadlineReached);

/// <summary>
/// Waits for a run with durable timers until it ends, needs tool outputs, or the deadline passes. Two rules make
/// it behave the same on every durable backend:
/// <list type="bullet">
/// <item>It never polls before its computed delay has passed on orchestration time: a timer that fires early
/// (the Azure Storage provider's sub-second timers do) is re-armed for the rest of the delay.</item>
/// <item>Its deadline can only come closer: the parent sends <see cref="StopWaitingEventName"/> with the end of the
/// cancel grace period when the job starts stopping, so a run stuck in <c>cancelling</c> holds the job for the
/// grace period, not until the job's own deadline.</item>
/// </list>
/// It continues as new every <see cref="PollingSettings.PollsPerGeneration"/> timer wake-ups (polls and re-armed
/// timers alike), so its history stays bounded however long the run takes; its custom status carries the live poll
/// count.
/// </summary>
public sealed class RunPoller : TaskOrchestrator<PollRunInput, PollOutcome>
{
    /// <summary>The poller's orchestrator name.</summary>
    public const string Name = "PollAgentRun";

    /// <summary>The event (payload: a UTC <see cref="DateTime"/>) that brings the poller's deadline forward.</summary>
    public const string StopWaitingEventName = "StopWaiting";

    /// <summary>The poller.</summary>
    public override async Task<PollOutcome> RunAsync(TaskOrchestrationContext context, PollRunInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);

        var stopWaiting = context.WaitForExternalEvent<DateTime>(StopWaitingEventName);
        var run = input.Run;
        var polls = input.Polls;
        var wakeUps = 0;
        var delay = TimeSpan.FromMilliseconds(input.NextDelayMs);
        if (delay <= TimeSpan.Zero)
        {
            delay = PollDelay.Next(input.Polling, TimeSpan.Zero, statusChanged: true, run.PollAfterMs);
        }

        DateTime Deadline() => stopWaiting.IsCompleted && stopWaiting.Result < input.DeadlineUtc ? stopWaiting.Result : input.DeadlineUtc;

        while (true)
        {
            if (run.IsTerminal || run.Status == AgentRunStatus.RequiresAction)
            {
                return new PollOutcome(run, polls, DeadlineReached: false);
            }

            var now = context.CurrentUtcDateTime;
            var deadline = Deadline();
            if (now >= deadline)
            {
                return new PollOutcome(run, polls, DeadlineReached: true);
            }

            if (wakeUps >= input.Polling.PollsPerGeneration)
            {
                context.ContinueAsNew(input with { Run = run, Polls = polls, NextDelayMs = delay.TotalMilliseconds, DeadlineUtc = deadline });
                return new PollOutcome(run, polls, DeadlineReached: false); // ignored: the next generation answers
            }

            // Wait out the whole delay on orchestration time, re-arming a timer that fired early. The stop event
            // can only bring the end of the wait forward.
            var due = now + delay < deadline ? now + delay : deadline;
            while (context.CurrentUtcDateTime < due)
            {
                wakeUps++;
                if (stopWaiting.IsCompleted)
                {
                    await context.CreateTimer(due, CancellationToken.None);
                    continue;
                }

                using var cancelTimer = new CancellationTokenSource();
                var timer = context.CreateTimer(due, cancelTimer.Token);
                if (await Task.WhenAny(timer, stopWaiting) != timer)
                {
                    // Synchronous on purpose: CancelAsync would run the timer's continuation off the orchestrator's thread.
#pragma warning disable CA1849
                    cancelTimer.Cancel();
#pragma warning restore CA1849
                    due = Deadline() < due ? Deadline() : due;
                }
            }

            var previous = run.Status;
            run = await context.CallActivityAsync<RunState>(nameof(AgentJobActivities.GetRun), run.Ref, AgentJobRetry.ServiceCalls);
            polls++;
            context.SetCustomStatus(new PollerProgress(run.RawStatus, polls));
            delay = PollDelay.Next(input.Polling, delay, run.Status != previous, run.PollAfterMs);
        }
    }
}
