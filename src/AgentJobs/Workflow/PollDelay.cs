using AgentJobs.Contracts;

namespace AgentJobs.Workflow;

/// <summary>How long to wait before the next poll.</summary>
public static class PollDelay
{
    /// <summary>The longest poll-after hint honoured as is; a larger one is treated as this (a safety net).</summary>
    public static readonly TimeSpan MaxHint = TimeSpan.FromMinutes(5);

    /// <summary>The shortest poll-after hint honoured as is; a smaller one is raised to this, so a job never spins.</summary>
    public static readonly TimeSpan MinHint = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// The service's hint when it sent one; otherwise the initial delay after a status change, or the previous
    /// delay times the backoff factor, capped.
    /// </summary>
    public static TimeSpan Next(PollingSettings settings, TimeSpan previous, bool statusChanged, int? pollAfterMs)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (pollAfterMs is { } hint and >= 0)
        {
            var hinted = TimeSpan.FromMilliseconds(hint);
            return hinted > MaxHint ? MaxHint : hinted < MinHint ? MinHint : hinted;
        }

        if (statusChanged || previous <= TimeSpan.Zero)
        {
            return TimeSpan.FromMilliseconds(settings.InitialDelayMs);
        }

        var grown = TimeSpan.FromMilliseconds(previous.TotalMilliseconds * settings.BackoffFactor);
        var cap = TimeSpan.FromMilliseconds(settings.MaxDelayMs);
        return grown > cap ? cap : grown;
    }

    /// <summary>
    /// Where the backoff would stand had the run been polled from the start, after <paramref name="waited"/> spent
    /// following its stream: the wait until the next poll on that schedule, and the delay the backoff has grown to. So
    /// polling that takes over after a stream window keeps the schedule a polled job would have (today's
    /// detection lag, fewer reads) instead of starting again at <see cref="PollingSettings.InitialDelayMs"/>.
    /// </summary>
    /// <returns>(Until the next poll, the current delay); both zero when nothing was waited.</returns>
    public static (TimeSpan UntilNext, TimeSpan Delay) AfterWaiting(PollingSettings settings, TimeSpan waited)
    {
        ArgumentNullException.ThrowIfNull(settings);
        if (waited <= TimeSpan.Zero)
        {
            return (TimeSpan.Zero, TimeSpan.Zero);
        }

        var delay = TimeSpan.Zero;
        var at = TimeSpan.Zero;
        while (at <= waited)
        {
            delay = Next(settings, delay, statusChanged: false, pollAfterMs: null);
            at += delay;
        }

        return (at - waited, delay);
    }
}
