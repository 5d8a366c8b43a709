using System.Net;
using System.Net.Sockets;
using AgentFunctions.Local.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// A host that cannot start says why in one <c>error:</c> line on standard error and prints nothing else (no log
/// lines, no stack traces); <c>--verbose</c> adds the full details.
/// </summary>
public class StartupErrorTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task Serve_on_a_busy_port_prints_only_one_error_line()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;

        var output = await LocalCli.RunAsync(Timeout, null, "serve", "--urls", $"http://127.0.0.1:{port}");

        AssertOnlyOneErrorLine(output, "address already in use");
    }

    [Fact]
    public async Task Serve_on_a_busy_port_with_verbose_prints_the_details_too()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;

        var output = await LocalCli.RunAsync(Timeout, null, "serve", "--urls", $"http://127.0.0.1:{port}", "--verbose");

        Assert.Equal(Cli.ConfigurationError, output.ExitCode);
        Assert.Contains("error: the local host could not start: Failed to bind to address", output.StdErr, StringComparison.Ordinal);
        Assert.Contains("   at ", output.StdErr, StringComparison.Ordinal); // the exception's stack trace
        Assert.Contains("Hosting failed to start", output.StdOut, StringComparison.Ordinal); // the host's own log, held back without --verbose
    }

    [Theory]
    [InlineData("error: --max-duration takes a whole number; got 'abc'.", "run", "Hello", "--max-duration", "abc")]
    [InlineData("error: --stream-window takes a whole number; got '1.5'.", "bench", "--stream-window", "1.5")]
    [InlineData("error: Unrecognized command or argument '--nope'.", "serve", "--nope")]
    public async Task A_command_line_that_does_not_parse_exits_2_with_an_error_line_per_problem(string expected, params string[] args)
    {
        var output = await LocalCli.RunAsync(Timeout, null, args);

        Assert.Equal(Cli.ConfigurationError, output.ExitCode);
        Assert.Contains(expected, output.StdErr.Split('\n').Select(l => l.TrimEnd()));
        Assert.DoesNotContain("System.", output.StdErr, StringComparison.Ordinal); // no .NET type names
        Assert.Contains("--help' for the options.", output.StdErr, StringComparison.Ordinal);
        Assert.Equal("", output.StdOut);
    }

    [Theory]
    [InlineData("run")]
    [InlineData("serve")]
    public async Task Storage_that_cannot_be_reached_prints_only_one_error_line_naming_the_setting(string verb)
    {
        // Azurite's well-known development account (public, not a secret) on a 127.0.0.1 port nothing listens on.
        var closed = LocalCli.FreePort();
        var storage =
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
            "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            $"BlobEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;" +
            $"TableEndpoint=http://127.0.0.1:{closed}/devstoreaccount1;";
        string[] args = verb == "run"
            ? ["run", "Hello", "--storage", storage]
            : ["serve", "--urls", $"http://127.0.0.1:{LocalCli.FreePort()}", "--storage", storage];

        var output = await LocalCli.RunAsync(Timeout, null, args);

        var line = AssertOnlyOneErrorLine(output, $"127.0.0.1:{closed}");
        Assert.Contains("--storage", line, StringComparison.Ordinal);
        Assert.Contains("Durable__Storage", line, StringComparison.Ordinal);
        Assert.DoesNotContain("AccountKey", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0", "AgentJobs__MaxDurationSecondsLimit must be 1 or more; got 0.")]
    [InlineData("soon", "AgentJobs__MaxDurationSecondsLimit must be a whole number; got 'soon'.")]
    public async Task A_limit_setting_out_of_range_prints_only_one_error_line_naming_it(string value, string reason)
    {
        var output = await LocalCli.RunAsync(Timeout, new Dictionary<string, string> { ["AgentJobs__MaxDurationSecondsLimit"] = value }, "run", "Hello");

        AssertOnlyOneErrorLine(output, reason);
    }

    /// <summary>The duration limit also lowers the 600 s default of a job that sets no duration: a 30 s run times out at 3 s.</summary>
    [Fact]
    public async Task The_duration_limit_setting_bounds_a_job_that_sets_no_duration()
    {
        var output = await LocalCli.RunAsync(Timeout, new Dictionary<string, string> { ["AgentJobs__MaxDurationSecondsLimit"] = "3" },
            "run", "Hello", "--simulated-run-ms", "30000", "--json");

        using var json = System.Text.Json.JsonDocument.Parse(output.StdOut);
        Assert.Equal("TimedOut", json.RootElement.GetProperty("outcome").GetString());
        Assert.Contains("maximum duration of 3 s", json.RootElement.GetProperty("failure").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.InRange(json.RootElement.GetProperty("elapsedSeconds").GetDouble(), 3, 25);
    }

    static string AssertOnlyOneErrorLine(LocalCli.Output output, string reason)
    {
        Assert.True(output.ExitCode == Cli.ConfigurationError, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        Assert.True(output.StdOut.Length == 0, $"Expected nothing on standard output, got: {output.StdOut}");
        var line = Assert.Single(output.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.Contains(reason, line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", line, StringComparison.Ordinal);
        return line;
    }
}
