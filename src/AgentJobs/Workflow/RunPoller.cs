using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>Input of the poller.</summary>
/// <param name="Run">The run as last seen.</param>
/// <param name="DeadlineUtc">Return when orchestration time reaches this, whatever the run is doing.</param>
/// <param name="Polling">Backoff settings.</param>
/// <param name="Polls">Polls so far in the job.</param>
/// <param name="ReturnOnRequiresAction">Return when tool outputs are needed (false while a cancel is under way).</param>
/// <param name="NextDelayMs">The delay carried over from the previous generation.</param>
public sealed record PollRunInput(
    RunState Run,
    DateTime DeadlineUtc,
    PollingSettings Polling,
    int Polls,
    bool ReturnOnRequiresAction,
    double NextDelayMs = 0);

/// <summary>Why the poller returned, with the run as last seen.</summary>
/// <param name="Run">The run.</param>
/// <param name="Polls">Polls so far in the job.</param>
/// <param name="DeadlineReached">The deadline passed before the run needed anything or ended.</param>
public sealed record PollOutcome(RunState Run, int Polls, bool DeadlineReached);

/// <summary>
/// Waits for a run with durable timers until it ends, needs tool outputs, or the deadline passes. It continues
/// as new every <see cref="PollingSettings.PollsPerGeneration"/> polls so its history stays bounded however long
/// the run takes; its custom status carries the live poll count.
/// </summary>
public sealed class RunPoller : TaskOrchestrator<PollRunInput, PollOutcome>
{
    /// <summary>The poller's orchestrator name.</summary>
    public const string Name = "PollAgentRun";

    /// <summary>The poller.</summary>
    public override async Task<PollOutcome> RunAsync(TaskOrchestrationContext context, PollRunInput input)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(input);

        var run = input.Run;
        var polls = input.Polls;
        var delay = TimeSpan.FromMilliseconds(input.NextDelayMs);
        if (delay <= TimeSpan.Zero)
        {
            delay = PollDelay.Next(input.Polling, TimeSpan.Zero, statusChanged: true, run.PollAfterMs);
        }

        for (var pollsThisGeneration = 0; ; pollsThisGeneration++)
        {
            if (run.IsTerminal || (input.ReturnOnRequiresAction && run.Status == AgentRunStatus.RequiresAction))
            {
                return new PollOutcome(run, polls, DeadlineReached: false);
            }

            // Timers can fire early on some backends (Azure Storage rounds to whole seconds), so the deadline is
            // judged on orchestration time after every wake-up, never assumed from the timer.
            var now = context.CurrentUtcDateTime;
            if (now >= input.DeadlineUtc)
            {
                return new PollOutcome(run, polls, DeadlineReached: true);
            }

            if (pollsThisGeneration >= input.Polling.PollsPerGeneration)
            {
                context.ContinueAsNew(input with { Run = run, Polls = polls, NextDelayMs = delay.TotalMilliseconds });
                return new PollOutcome(run, polls, DeadlineReached: false); // ignored: the next generation answers
            }

            var remaining = input.DeadlineUtc - now;
            await context.CreateTimer(delay < remaining ? delay : remaining, CancellationToken.None);

            var previous = run.Status;
            run = await context.CallActivityAsync<RunState>(nameof(AgentJobActivities.GetRun), run.Ref, AgentJobRetry.ServiceCalls);
            polls++;
            context.SetCustomStatus(new PollerProgress(run.RawStatus, polls));
            delay = PollDelay.Next(input.Polling, delay, run.Status != previous, run.PollAfterMs);
        }
    }
}
