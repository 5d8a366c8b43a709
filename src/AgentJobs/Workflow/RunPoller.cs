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
/// <param name="NextPollAtUtc">When the previous generation meant to poll next (it continued as new while waiting).</param>
/// <param name="Seen">The run-status changes earlier generations saw (at most <see cref="RunPoller.MaxCarriedStatusChanges"/>,
/// the latest), so the event stream still has them once those generations' history is gone.</param>
public sealed record PollRunInput(
    RunState Run,
    DateTime DeadlineUtc,
    PollingSettings Polling,
    int Polls,
    double NextDelayMs = 0,
    DateTime? NextPollAtUtc = null,
    IReadOnlyList<RunStatusSeen>? Seen = null);

/// <summary>A run-status change a poll saw.</summary>
/// <param name="Polls">The job's poll count at that poll.</param>
/// <param name="RunId">The run.</param>
/// <param name="RawStatus">The service's word for the new status.</param>
/// <param name="AtUtc">Orchestration time when the poll's answer arrived.</param>
public sealed record RunStatusSeen(int Polls, string RunId, string RawStatus, DateTime AtUtc);

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
/// It continues as new every <see cref="PollingSettings.PollsPerGeneration"/> steps (a poll, or a timer re-armed after
/// firing early), so its history stays bounded however long the run takes; a generation that ends while waiting
/// hands the time it was waiting for to the next, so the wait is never started over, and the run-status changes it
/// saw, so the event stream keeps them. Its custom status carries the live poll count.
/// </summary>
public sealed class RunPoller : TaskOrchestrator<PollRunInput, PollOutcome>
{
    /// <summary>The poller's orchestrator name.</summary>
    public const string Name = "PollAgentRun";

    /// <summary>The event (payload: a UTC <see cref="DateTime"/>) that brings the poller's deadline forward.</summary>
    public const string StopWaitingEventName = "StopWaiting";

    /// <summary>Most run-status changes a generation hands to the next (<see cref="PollRunInput.Seen"/>): the latest.</summary>
    public const int MaxCarriedStatusChanges = 100;

    /// <summary>The poller: wait until the next poll is due, poll, until the run settles or the deadline passes.</summary>
    public override async Task<PollOutcome> RunAsync(TaskOrchestrationContext context, PollRunInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);

        var generation = new Generation(context, input);
        await generation.StartAsync();
        while (true)
        {
            if (generation.Ended() is { } ended)
            {
                return ended;
            }

            if (!await generation.WaitForPollAsync())
            {
                return generation.ContinueAsNew();
            }

            if (await generation.PollAsync() is { } failed)
            {
                return failed;
            }
        }
    }

    /// <summary>One generation of the poller: the run as last seen and the schedule of its next poll.</summary>
    sealed class Generation
    {
        readonly TaskOrchestrationContext context;
        readonly PollRunInput input;
        readonly Task<DateTime> stopWaiting;
        readonly List<RunStatusSeen> seen;
        readonly TaskOptions retry;
        RunState run;
        int polls;
        DateTime? nextPollAt;
        DateTime due;
        TimeSpan delay;
        int steps;

        public Generation(TaskOrchestrationContext context, PollRunInput input)
        {
            this.context = context;
            this.input = input;
            stopWaiting = context.WaitForExternalEvent<DateTime>(StopWaitingEventName);
            run = input.Run;
            polls = input.Polls;
            nextPollAt = input.NextPollAtUtc;
            seen = [.. input.Seen ?? []];
            delay = TimeSpan.FromMilliseconds(input.NextDelayMs);
            if (delay <= TimeSpan.Zero)
            {
                delay = PollDelay.Next(input.Polling, TimeSpan.Zero, statusChanged: true, run.PollAfterMs);
            }

            // A read that keeps failing transiently is retried up to the deadline, no further.
            retry = AgentJobRetry.Until(Deadline);
        }

        /// <summary>Whether this generation has taken all its steps and must continue as new before the next.</summary>
        bool Full => steps >= input.Polling.PollsPerGeneration;

        /// <summary>The deadline, brought forward by <see cref="StopWaitingEventName"/> once it arrives.</summary>
        DateTime Deadline() => stopWaiting.IsCompleted && stopWaiting.Result < input.DeadlineUtc ? stopWaiting.Result : input.DeadlineUtc;

        public async Task StartAsync()
        {
            // Each generation starts with no custom status on some backends (Azure Storage); carry the live count over so
            // the job's progress never drops back while a new generation waits for its first poll. A job's first poller
            // has nothing to carry: its status appears with its first poll.
            if (polls > 0)
            {
                context.SetCustomStatus(new PollerProgress(run.RawStatus, polls));
            }

            // A generation whose poll is already due when it starts waits on a timer for it all the same: a continued
            // generation's first episode can run before the backend has saved it, which is when the local hosts restore its
            // trace context (TraceContextCarryOver), so a poll made in that episode was missing from the job's trace (seen
            // on the Azure Storage provider: 7 of 10 polls traced). The timer is due at once; it costs two history events.
            if (input.NextPollAtUtc is { } carried && carried <= context.CurrentUtcDateTime)
            {
                await context.CreateTimer(context.CurrentUtcDateTime, CancellationToken.None);
            }
        }

        /// <summary>The poller's answer once the run has settled or the deadline has passed; null while it waits on.</summary>
        public PollOutcome? Ended() =>
            run.IsSettled ? new PollOutcome(run, polls, DeadlineReached: false)
            : context.CurrentUtcDateTime >= Deadline() ? new PollOutcome(run, polls, DeadlineReached: true)
            : null;

        /// <summary>
        /// Waits out the whole delay before the next poll on orchestration time, re-arming a timer that fired early; the
        /// stop event can only bring the end of the wait forward. False when the generation is full and must continue as new.
        /// </summary>
        public async Task<bool> WaitForPollAsync()
        {
            due = nextPollAt ?? context.CurrentUtcDateTime + delay;
            due = due < Deadline() ? due : Deadline();
            for (var timers = 0; context.CurrentUtcDateTime < due; timers++)
            {
                if (Full)
                {
                    return false;
                }

                steps += timers > 0 ? 1 : 0; // the first timer of a wait belongs to its poll
                if (stopWaiting.IsCompleted)
                {
                    await context.CreateTimer(due, CancellationToken.None);
                    continue;
                }

                if (await context.WhenAnyOrTimerAsync(due, stopWaiting) is not null)
                {
                    due = Deadline() < due ? Deadline() : due;
                }
            }

            nextPollAt = null;
            return !Full;
        }

        /// <summary>Hands the run, the counts, the wait under way and the status changes seen to the next generation.</summary>
        public PollOutcome ContinueAsNew()
        {
            context.ContinueAsNew(input with { Run = run, Polls = polls, NextDelayMs = delay.TotalMilliseconds, DeadlineUtc = Deadline(), NextPollAtUtc = due, Seen = [.. seen.TakeLast(MaxCarriedStatusChanges)] });
            return new PollOutcome(run, polls, DeadlineReached: false); // ignored: the next generation answers
        }

        /// <summary>Reads the run once and schedules the next poll; the poller's answer when the read failed at the deadline.</summary>
        public async Task<PollOutcome?> PollAsync()
        {
            var previous = run;
            try
            {
                run = await context.CallActivityAsync<RunState>(nameof(AgentJobActivities.GetRun), run.Ref, retry);
            }
            catch (TaskFailedException) when (context.CurrentUtcDateTime >= Deadline())
            {
                return new PollOutcome(run, polls, DeadlineReached: true);
            }

            polls++;
            steps++;
            if (run.RawStatus != previous.RawStatus)
            {
                seen.Add(new RunStatusSeen(polls, run.RunId, run.RawStatus, context.CurrentUtcDateTime));
            }

            context.SetCustomStatus(new PollerProgress(run.RawStatus, polls));
            delay = PollDelay.Next(input.Polling, delay, run.Status != previous.Status, run.PollAfterMs);
            return null;
        }
    }
}
