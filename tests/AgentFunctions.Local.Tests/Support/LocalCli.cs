using System.Diagnostics;
using System.Text;

namespace AgentFunctions.Local.Tests.Support;

/// <summary>The built local host, run as a real process (<c>dotnet AgentFunctions.Local.dll ...</c>).</summary>
public static class LocalCli
{
    /// <summary>The app, built next to the tests by the project reference.</summary>
    public static string Dll { get; } = Path.Combine(AppContext.BaseDirectory, "AgentFunctions.Local.dll");

    public sealed record Output(int ExitCode, string StdOut, string StdErr);

    /// <summary>
    /// Where the CLI runs: an empty directory, as a developer's clone is (the host reads <c>appsettings.json</c> from
    /// its working directory, and the test output holds the local agent service's, whose log levels are its own).
    /// </summary>
    static string WorkingDirectory { get; } = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "agentfunctions-cli-tests")).FullName;

    /// <summary>Runs the CLI to the end (bounded by <paramref name="timeout"/>), capturing both streams.</summary>
    public static Task<Output> RunAsync(TimeSpan timeout, IDictionary<string, string>? environment = null, params string[] args) =>
        RunWithInputAsync(timeout, null, environment, args);

    /// <summary>As <see cref="RunAsync"/>, with <paramref name="input"/> written to standard input, which is then closed (a pipe).</summary>
    public static async Task<Output> RunWithInputAsync(TimeSpan timeout, string? input, IDictionary<string, string>? environment = null, params string[] args)
    {
        using var process = Start(environment, args);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"'{string.Join(' ', args)}' did not finish in {timeout}. stdout: {await stdout} stderr: {await stderr}");
        }

        return new Output(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Starts the CLI with redirected streams (not a terminal, like CI).</summary>
    public static Process Start(IDictionary<string, string>? environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = WorkingDirectory,
        };
        info.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // The developer's own settings must not leak in.
        foreach (var name in new[] { "AgentService__Endpoint", "AgentService__ApiKey", "AgentService__Protocol", "PROJECT_CONNECTION_STRING", "Durable__Storage", "AgentJobs__ServeKey" })
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
    }

    /// <summary>Kills <paramref name="process"/> and everything it started (no graceful shutdown) and waits, bounded, for it to exit.</summary>
    public static async Task KillTreeAsync(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Already gone, or will be reaped with the test process.
        }
    }

    /// <summary>A free TCP port on 127.0.0.1 (the same helper the backends use for their sidecar).</summary>
    public static int FreePort() => AgentJobs.Hosting.GrpcSidecarBackend.FreeLoopbackPort();
}
