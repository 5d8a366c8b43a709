using AgentFunctions.Local.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary>The <c>chat</c> verb as a process, its lines coming from a pipe.</summary>
public class ChatVerbTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Each_line_is_a_turn_answered_in_order_and_exit_ends_the_session_with_its_agent_deleted()
    {
        var output = await LocalCli.RunWithInputAsync(Timeout, "Hello, tell me a joke\nPlease use calculate with {\"expression\": \"6 * 7\"}\n/exit\nnever sent\n", null,
            "chat", "--tool", "calculate");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        var joke = output.StdOut.IndexOf("Here's a joke", StringComparison.Ordinal);
        var sum = output.StdOut.IndexOf("6 * 7 = 42.", StringComparison.Ordinal);
        Assert.True(joke >= 0 && sum > joke, $"the replies are missing or out of order: {output.StdOut}");
        Assert.Contains("(tools: calculate)", output.StdOut, StringComparison.Ordinal);
        Assert.Contains("Session ended · 2 turns", output.StdOut, StringComparison.Ordinal);
        Assert.Contains("agent deleted, thread deleted", output.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("never sent", output.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_end_of_input_ends_the_session_too()
    {
        var output = await LocalCli.RunWithInputAsync(Timeout, "Hello\n", null, "chat");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        Assert.Contains("Session ended · 1 turn ", output.StdOut, StringComparison.Ordinal);
        Assert.Contains("agent deleted", output.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_paced_reply_is_printed_as_it_is_written_once_and_plain()
    {
        var output = await LocalCli.RunWithInputAsync(Timeout, "Please write 30 words\n/exit\n", null, "chat", "--simulated-tokens-per-second", "60");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        Assert.Contains("agent> [simulated", output.StdOut, StringComparison.Ordinal);
        Assert.Single(output.StdOut.Split("[simulated")[1..]); // the live text and the reply are printed once, not twice
        var line = output.StdOut.Split('\n').Single(l => l.Contains("agent> [simulated", StringComparison.Ordinal));
        Assert.Equal(30 + 2, line[(line.IndexOf("agent> ", StringComparison.Ordinal) + "agent> ".Length)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Length); // whole, on one line
        Assert.DoesNotContain("\u001b[", output.StdOut, StringComparison.Ordinal);
    }
}
