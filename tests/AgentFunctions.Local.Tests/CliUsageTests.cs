using AgentFunctions.Local.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// The command line says what is wrong with what was typed, in the words that were typed (flags, not API fields or
/// settings), instead of silently dropping or ignoring part of it: exit 2 with one <c>error:</c> line.
/// </summary>
public class CliUsageTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    static string OneErrorLine(LocalCli.Output output)
    {
        Assert.True(output.ExitCode == Cli.ConfigurationError, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        var line = Assert.Single(output.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        return line;
    }

    [Fact]
    public async Task Run_with_a_prompt_and_a_batch_file_exits_2_instead_of_dropping_the_prompt()
    {
        var file = Path.Combine(Path.GetTempPath(), $"prompts-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, "Hello\n", TestContext.Current.CancellationToken);
        try
        {
            var line = OneErrorLine(await LocalCli.RunAsync(Timeout, null, "run", "hi", "--batch", file));
            Assert.Contains("prompt: a batch takes its prompts from the file, so 'hi' would not run", line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task An_empty_batch_file_exits_2_saying_the_file_has_no_prompts()
    {
        var file = Path.Combine(Path.GetTempPath(), $"prompts-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, "\n   \n\n", TestContext.Current.CancellationToken);
        try
        {
            var line = OneErrorLine(await LocalCli.RunAsync(Timeout, null, "run", "--batch", file));
            Assert.Contains("has no prompts", line, StringComparison.Ordinal);
            Assert.DoesNotContain("'prompts'", line, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Approval_timeout_without_approve_exits_2_instead_of_being_ignored()
    {
        var line = OneErrorLine(await LocalCli.RunAsync(Timeout, null, "run", "Hello", "--approval-timeout", "30"));

        Assert.Contains("--approval-timeout", line, StringComparison.Ordinal);
        Assert.Contains("--approve", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--idle-timeout", "0", "--idle-timeout", "idleTimeoutSeconds")]
    [InlineData("--tool", "no_such_tool", "--tool", "'tools'")]
    public async Task Chat_errors_name_the_flags_not_the_api_fields(string option, string value, string flag, string field)
    {
        var line = OneErrorLine(await LocalCli.RunWithInputAsync(Timeout, "", null, "chat", option, value));

        Assert.StartsWith($"error: {flag}", line, StringComparison.Ordinal);
        Assert.DoesNotContain(field, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chat_answers_help_itself_instead_of_sending_it_to_the_model()
    {
        var output = await LocalCli.RunWithInputAsync(Timeout, "/help\n/exit\n", null, "chat");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        Assert.Contains("/exit", output.StdOut[output.StdOut.IndexOf("type a message", StringComparison.Ordinal)..], StringComparison.Ordinal);
        Assert.Contains("Each line you type is a turn", output.StdOut, StringComparison.Ordinal);
        Assert.Contains("Session ended · 0 turns", output.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("agent>", output.StdOut, StringComparison.Ordinal);
    }
}
