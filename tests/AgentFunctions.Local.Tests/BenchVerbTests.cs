using System.Globalization;
using System.Text.RegularExpressions;
using AgentFunctions.Local.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// The <c>bench</c> verb as a process, with tiny settings: it prints every mode's row and the ratios, and what it
/// measures is what the modes do — the polling workflow reads the run, the stream-first workflow does not, the seed's
/// loop reads it once a second. Speed itself is never asserted here (benchmarks print numbers; tests do not time).
/// </summary>
public class BenchVerbTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task Bench_prints_all_four_modes_side_by_side_with_their_ratios()
    {
        var output = await LocalCli.RunAsync(Timeout, null, "bench", "--jobs", "3", "--run-ms", "300", "--poll-hints", "off");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}: {output.StdErr}\n{output.StdOut}");
        Assert.Contains("run 300 ms, poll hints off, 3 concurrent job(s)", output.StdOut, StringComparison.Ordinal);
        var polling = Row(output.StdOut, "durable, polling (before)");
        var streamed = Row(output.StdOut, "durable, stream-first");
        var direct = Row(output.StdOut, "no Durable, stream-first");
        var seed = Row(output.StdOut, "seed loop (1 s sleeps)");

        Assert.True(polling.GetRunPerJob >= 1, "the polling workflow must read the run");
        Assert.Equal(0, streamed.GetRunPerJob); // a 300 ms run settles inside the window
        Assert.Equal(0, direct.GetRunPerJob);
        Assert.Equal(1, seed.GetRunPerJob); // one sleep of 1 s outlasts the 300 ms run: one read
        Assert.True(streamed.HistoryPerJob < polling.HistoryPerJob, $"stream-first history {streamed.HistoryPerJob} vs polling {polling.HistoryPerJob}");
        Assert.True(streamed.CallsPerJob < polling.CallsPerJob);
        Assert.True(seed.DetectP50 > 500, $"the seed's loop sleeps 1 s, so it sees a 300 ms run about 700 ms late; measured {seed.DetectP50} ms");
        Assert.Contains("stream-first vs seed loop:", output.StdOut, StringComparison.Ordinal);
        Assert.Contains("stream-first vs no Durable:", output.StdOut, StringComparison.Ordinal);
        Assert.Contains("agent service after: 0 live assistants", output.StdOut, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--jobs", "0")]
    [InlineData("--run-ms", "fast")]
    [InlineData("--poll-hints", "sometimes")]
    [InlineData("--stream-window", "0")]
    public async Task Bad_bench_settings_exit_2_naming_the_option(string option, string value)
    {
        var output = await LocalCli.RunAsync(Timeout, null, "bench", option, value);

        Assert.Equal(2, output.ExitCode);
        Assert.Contains(option, output.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not-a-connection-string")]
    public async Task A_bad_storage_connection_for_the_scale_out_bench_exits_2_with_one_line(string connection)
    {
        var output = await LocalCli.RunAsync(Timeout, null, "bench", "--storage", connection, "--workers", "2");

        Assert.Equal(2, output.ExitCode);
        Assert.DoesNotContain("Unhandled exception", output.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output.StdErr, StringComparison.Ordinal);
        Assert.Single(output.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error:", StringComparison.Ordinal));
    }

    sealed record Figures(double GetRunPerJob, double CallsPerJob, double? HistoryPerJob, double DetectP50);

    static Figures Row(string stdout, string mode)
    {
        var line = stdout.Split('\n').Single(l => l.TrimStart().StartsWith(mode, StringComparison.Ordinal));
        var numbers = Regex.Matches(line[(line.IndexOf(mode, StringComparison.Ordinal) + mode.Length)..], @"-?\d+(\.\d+)?|(?<=\s)-(?=\s)")
            .Select(m => m.Value == "-" ? (double?)null : double.Parse(m.Value, CultureInfo.InvariantCulture)).ToList();

        // jobs/s, overhead p50, p95, detect p50, p95, GET-run/job, calls/job, history/job (or -), peak MB
        Assert.True(numbers.Count == 9, $"unexpected row: {line}");
        return new Figures(numbers[5]!.Value, numbers[6]!.Value, numbers[7], numbers[3]!.Value);
    }
}
