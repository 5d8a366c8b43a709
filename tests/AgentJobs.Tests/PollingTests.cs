using AgentJobs.Contracts;
using AgentJobs.Tests.Support;
using AgentJobs.Workflow;

namespace AgentJobs.Tests;

/// <summary>The run is polled with durable timers: exponential backoff to a cap, reset on change, service hints honoured.</summary>
public class PollingTests
{
    // Consecutive GetRun calls are separated by at least the timer's delay: the timer starts after the previous
    // read's result reached the orchestrator. A little slack covers clock granularity only.
    const double ClockSlackMs = 5;

    static readonly PollingSettings Backoff = new(InitialDelayMs: 50, MaxDelayMs: 400, BackoffFactor: 2);

    [Theory]
    [InlineData(0, 0, 0)]             // nothing waited: the poller starts as it always did
    [InlineData(500, 500, 1_000)]     // inside the first delay: poll when it ends
    [InlineData(10_000, 3_187.5, 5_062.5)] // polls would have been at 1, 2.5, 4.75, 8.125 and 13.1875 s
    [InlineData(100_000, 7_171.875, 15_000)] // past the cap: every 15 s on the same grid
    public void Polling_after_a_stream_window_keeps_the_schedule_a_polled_run_would_have(int waitedMs, double untilNextMs, double delayMs)
    {
        var (untilNext, delay) = PollDelay.AfterWaiting(PollingSettings.Default, TimeSpan.FromMilliseconds(waitedMs));

        Assert.Equal(untilNextMs, untilNext.TotalMilliseconds, precision: 3);
        Assert.Equal(delayMs, delay.TotalMilliseconds, precision: 3);
    }

    [Fact]
    public void Next_starts_at_the_initial_delay()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(50), PollDelay.Next(Backoff, TimeSpan.Zero, statusChanged: false, pollAfterMs: null));
    }

    [Fact]
    public void Next_grows_by_the_factor_until_the_cap()
    {
        var delays = new List<double>();
        var delay = TimeSpan.Zero;
        for (var i = 0; i < 6; i++)
        {
            delay = PollDelay.Next(Backoff, delay, statusChanged: i == 0, pollAfterMs: null);
            delays.Add(delay.TotalMilliseconds);
        }

        Assert.Equal([50, 100, 200, 400, 400, 400], delays);
    }

    [Fact]
    public void Next_resets_to_the_initial_delay_when_the_status_changes()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(50), PollDelay.Next(Backoff, TimeSpan.FromMilliseconds(400), statusChanged: true, pollAfterMs: null));
    }

    [Theory]
    [InlineData(30, 30)]
    [InlineData(3_000, 3_000)]
    public void Next_uses_the_service_hint_over_the_backoff(int hintMs, int expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), PollDelay.Next(Backoff, TimeSpan.FromMilliseconds(200), statusChanged: false, hintMs));
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), PollDelay.Next(Backoff, TimeSpan.Zero, statusChanged: true, hintMs));
    }

    [Fact]
    public void Next_bounds_an_absurd_hint_and_ignores_a_negative_one()
    {
        Assert.Equal(PollDelay.MaxHint, PollDelay.Next(Backoff, TimeSpan.Zero, statusChanged: true, int.MaxValue));
        Assert.Equal(TimeSpan.FromMilliseconds(50), PollDelay.Next(Backoff, TimeSpan.Zero, statusChanged: true, -1));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(5)]
    public void Next_raises_a_tiny_hint_to_the_floor_so_a_job_never_spins(int hintMs)
    {
        Assert.Equal(PollDelay.MinHint, PollDelay.Next(Backoff, TimeSpan.FromMilliseconds(200), statusChanged: false, hintMs));
    }

    [Fact]
    public async Task Gaps_between_polls_back_off_exponentially_up_to_the_cap()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ => ScriptStep.InProgressThen(7);

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Polling = Backoff });

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(8, result.Polls);

        // Read 1 sees queued -> in_progress (a change: initial delay), then in_progress stays: 100, 200, 400 (cap), 400...
        double[] expected = [50, 100, 200, 400, 400, 400, 400];
        var gaps = host.Service.Gaps("GetRun");
        Assert.Equal(expected.Length, gaps.Count);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(gaps[i] >= expected[i] - ClockSlackMs, $"gap {i} was {gaps[i]:0} ms, expected at least {expected[i]} ms (all: {string.Join(", ", gaps.Select(g => g.ToString("0", System.Globalization.CultureInfo.InvariantCulture)))})");
        }
    }

    [Fact]
    public async Task The_first_poll_waits_the_initial_delay_after_the_run_starts()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ => ScriptStep.InProgressThen(0);

        await host.RunJobAsync(WorkflowHost.Job() with { Polling = Backoff with { InitialDelayMs = 300 } });

        var gap = (host.Service.Times("GetRun")[0] - host.Service.Times("StartRun")[0]).TotalMilliseconds;
        Assert.True(gap >= 300 - ClockSlackMs, $"first poll came {gap:0} ms after the start");
    }

    [Fact]
    public async Task The_services_poll_after_hint_is_honoured_even_when_the_backoff_is_shorter()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ => ScriptStep.InProgressThen(3);
        host.Service.PollAfterMs = 300;

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Polling = new PollingSettings(InitialDelayMs: 10, MaxDelayMs: 20) });

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        var gaps = host.Service.Gaps("GetRun");
        Assert.Equal(3, gaps.Count);
        Assert.All(gaps, gap => Assert.True(gap >= 300 - ClockSlackMs, $"gap of {gap:0} ms is shorter than the 300 ms hint"));
    }
}
