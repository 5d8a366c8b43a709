using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;
using LocalAgentService;

namespace AgentFunctions.Local.Tests;

/// <summary>The <c>run</c> verb as a process, its output not a terminal (as in CI).</summary>
public class RunVerbTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Run_prints_the_reply_the_steps_and_agent_deleted_and_exits_0()
    {
        var output = await LocalCli.RunAsync(Timeout, null, "run", "Hello, tell me a joke");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        Assert.Contains("[simulated gpt-4o-mini] Here's a joke:", output.StdOut);
        Assert.Contains("Run steps", output.StdOut);
        Assert.Contains("message_creation (completed)", output.StdOut);
        Assert.Contains("agent deleted", output.StdOut);
        Assert.Contains("StartingRun", output.StdOut); // the live progress degraded to plain lines
        Assert.Contains("· 0 polls ·", output.StdOut); // the run was seen through its stream (the local host streams for 60 s)
        Assert.DoesNotContain("\u001b[", output.StdOut + output.StdErr); // no ANSI escape sequences
    }

    [Theory]
    [InlineData("y\n", "6 * 7 = 42.", "[approved by ")]
    [InlineData("n not with my numbers\n", "rejected by the user: not with my numbers", "[rejected by ")]
    [InlineData("", "rejected by the user: no answer at the terminal", "[rejected by ")]
    public async Task Run_approve_asks_before_each_tool_call_and_reads_the_answer_from_a_pipe(string answer, string reply, string step)
    {
        var output = await LocalCli.RunWithInputAsync(Timeout, answer, null,
            "run", "Please use calculate with {\"expression\": \"6 * 7\"}", "--tool", "calculate", "--approve");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        Assert.Contains("Approve calculate({\"expression\":\"6 * 7\"})?", output.StdOut, StringComparison.Ordinal);
        Assert.Contains("awaiting approval", output.StdOut, StringComparison.Ordinal);
        Assert.Contains(reply, output.StdOut, StringComparison.Ordinal);
        Assert.Contains(step, output.StdOut, StringComparison.Ordinal);
        Assert.Contains("agent deleted", output.StdOut, StringComparison.Ordinal);
    }

    // Issue 19, crossing 7: the approval timeout decides the call while the prompt waits on a standard input that stays
    // open and never sends a line; the prompt must stop waiting and the outcome be printed (before: nothing until a key).
    [Fact]
    public async Task Run_approve_stops_asking_when_the_approval_timeout_decides_and_prints_the_outcome()
    {
        using var process = LocalCli.Start(null,
            "run", "Please use calculate with {\"expression\": \"6 * 7\"}", "--tool", "calculate", "--approve", "--approval-timeout", "2");
        try
        {
            var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            var clock = Stopwatch.StartNew();
            using var bound = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            bound.CancelAfter(TimeSpan.FromSeconds(60)); // the job ends about 2 s after it asks; 60 s is only a bound
            try
            {
                await process.WaitForExitAsync(bound.Token);
            }
            catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
            {
                await LocalCli.KillTreeAsync(process);
                Assert.Fail($"'run --approve' still waited at the prompt {clock.Elapsed.TotalSeconds:0} s after it started. stdout: {await stdout}");
            }

            var output = await stdout;
            TestContext.Current.SendDiagnosticMessage($"exited {clock.Elapsed.TotalSeconds:0.0} s after it started");
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}; stderr: {await stderr}; stdout: {output}");
            Assert.Contains("Approve calculate({\"expression\":\"6 * 7\"})?", output, StringComparison.Ordinal);
            Assert.Contains("no answer", output, StringComparison.Ordinal);
            Assert.Contains("[rejected by timeout", output, StringComparison.Ordinal);
            Assert.Contains("agent deleted", output, StringComparison.Ordinal);
        }
        finally
        {
            await LocalCli.KillTreeAsync(process);
        }
    }

    [Fact]
    public async Task Run_prints_a_paced_reply_as_it_is_written_then_the_result_in_plain_text()
    {
        var output = await LocalCli.RunAsync(Timeout, null, "run", "Please write 40 words", "--simulated-tokens-per-second", "60");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        var live = output.StdOut.IndexOf("s  Agent\n[simulated", StringComparison.Ordinal);
        var reply = output.StdOut.IndexOf("Reply\n  [simulated", StringComparison.Ordinal);
        Assert.True(live >= 0 && reply > live, $"no live text before the reply: {output.StdOut}");
        var liveText = output.StdOut[(live + "s  Agent\n".Length)..].Split('\n')[0];
        var replyText = output.StdOut[(reply + "Reply\n  ".Length)..].Split('\n')[0];
        Assert.Equal(replyText, liveText);
        Assert.DoesNotContain("\u001b[", output.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_json_prints_only_the_result_as_camel_case_json()
    {
        var output = await LocalCli.RunAsync(Timeout, null, "run", "Hello, tell me a joke", "--json", "--tool", "get_utc_now", "--agent-name", "cli-test");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}");
        using var json = JsonDocument.Parse(output.StdOut); // nothing but the result on stdout
        var result = json.RootElement;
        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        Assert.Contains("Here's a joke", result.GetProperty("reply").GetString());
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
        Assert.NotEmpty(result.GetProperty("runSteps").EnumerateArray());
        Assert.Contains("\n  \"", output.StdOut); // indented
    }

    [Fact]
    public async Task Run_past_its_max_duration_exits_non_zero_with_a_one_line_reason_and_still_deletes_the_agent()
    {
        var output = await LocalCli.RunAsync(Timeout, null, "run", "Hello", "--max-duration", "1", "--simulated-run-ms", "30000");

        Assert.Equal(Cli.JobNotCompleted, output.ExitCode);
        var line = Assert.Single(output.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: job TimedOut", line, StringComparison.Ordinal);
        Assert.Contains("maximum duration", line, StringComparison.Ordinal);
        Assert.Contains("agent deleted", output.StdOut);
    }

    /// <summary>A job the service fails (an unknown thread) ends with one error line: no log line repeats it.</summary>
    [Fact]
    public async Task Run_that_the_service_fails_exits_1_with_one_error_line()
    {
        var output = await LocalCli.RunAsync(Timeout, null, "run", "Hello", "--thread", "thread_nope");

        Assert.Equal(Cli.JobNotCompleted, output.ExitCode);
        var line = Assert.Single(output.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal("error: job Failed (agent_service_error: start run: HTTP 404: No thread found with id 'thread_nope'.)", line);
    }

    [Theory]
    [InlineData("--tool", "no_such_tool", "--tool: Unknown tool 'no_such_tool'")]
    [InlineData("--protocol", "assistants", "valid values are: classic, foundry")]
    [InlineData("--protocol", "foo", "--protocol: 'foo' is not a protocol")]
    [InlineData("--endpoint", "http://example.com/v1", "AgentService:Endpoint uses plain http")]
    public async Task Run_with_a_bad_setting_exits_2_with_a_one_line_reason(string option, string value, string reason)
    {
        var output = await LocalCli.RunAsync(Timeout, null, "run", "Hello", option, value);

        Assert.Equal(Cli.ConfigurationError, output.ExitCode);
        var line = Assert.Single(output.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(reason, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_with_the_foundry_protocol_completes_a_job_with_a_tool_call()
    {
        var output = await LocalCli.RunAsync(Timeout, null,
            "run", "Use calculate on {\"expression\": \"6*7\"}", "--tool", "calculate", "--protocol", "foundry", "--json");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        using var json = JsonDocument.Parse(output.StdOut);
        var result = json.RootElement;
        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        Assert.Equal(1, result.GetProperty("toolCalls").GetInt32());
        Assert.Contains("42", result.GetProperty("reply").GetString());
        Assert.StartsWith("conv_", result.GetProperty("threadId").GetString());
        Assert.Equal(2, result.GetProperty("runIds").GetArrayLength()); // one response per tool round
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
    }

    [Fact]
    public async Task Run_against_an_external_agent_service_leaves_no_agent_behind()
    {
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions { ApiKey = "test-key" });

        var output = await LocalCli.RunAsync(Timeout, null,
            "run", "Use calculate on {\"expression\": \"6*7\"}", "--tool", "calculate",
            "--endpoint", service.OpenAIEndpoint.ToString(), "--api-key", "test-key");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        Assert.Contains("calculate", output.StdOut);
        Assert.Contains("agent deleted", output.StdOut);
        var stats = await service.GetStatsAsync();
        Assert.Equal(0, stats.Assistants);
        Assert.Equal(1, stats.AssistantsCreated);
        Assert.Equal(stats.AssistantsCreated, stats.AssistantsDeleted);
    }

    [Fact]
    public async Task Ctrl_C_cancels_the_run_deletes_the_agent_and_exits_1()
    {
        // A run that stays in progress for two minutes unless cancelled.
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions { ApiKey = "test-key", Simulation = { InProgressMs = 120_000 } });
        using var process = LocalCli.Start(null, "run", "Hello", "--endpoint", service.OpenAIEndpoint.ToString(), "--api-key", "test-key");
        var stdout = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        try
        {
            var deadline = DateTime.UtcNow + Timeout;
            while ((await service.GetStatsAsync()).ActiveRuns == 0)
            {
                Assert.False(process.HasExited, $"run exited early with {(process.HasExited ? process.ExitCode : 0)}");
                Assert.True(DateTime.UtcNow < deadline, "The run never started.");
                await Task.Delay(100, TestContext.Current.CancellationToken);
            }

            // Ctrl+C, as a terminal sends it: SIGINT to the process.
            using (var kill = Process.Start("kill", ["-INT", process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
                Assert.Equal(0, kill.ExitCode);
            }

            using var wait = new CancellationTokenSource(Timeout);
            await process.WaitForExitAsync(wait.Token);
        }
        finally
        {
            await LocalCli.KillTreeAsync(process);
        }

        var (output, errors) = (await stdout, await stderr);
        Assert.True(process.ExitCode == Cli.JobNotCompleted, $"exit {process.ExitCode}; stderr: {errors}; stdout: {output}");
        Assert.Contains("cancel requested", output, StringComparison.Ordinal);
        Assert.Contains("Cancelled (run cancelled)", output, StringComparison.Ordinal);
        Assert.Contains("agent deleted", output, StringComparison.Ordinal);
        Assert.Contains(errors.Split('\n', StringSplitOptions.TrimEntries), line => line.StartsWith("error: job Cancelled", StringComparison.Ordinal));

        var stats = await service.GetStatsAsync();
        Assert.Equal(0, stats.Assistants);
        Assert.Equal(1, stats.AssistantsCreated);
        Assert.Equal(1, stats.AssistantsDeleted);
        Assert.Equal(0, stats.ActiveRuns);
        Assert.Equal(1, stats.Runs.GetValueOrDefault("cancelled"));
    }
}
