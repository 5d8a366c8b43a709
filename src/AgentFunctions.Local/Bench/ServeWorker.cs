using System.Diagnostics;
using System.Text.RegularExpressions;

namespace AgentFunctions.Local.Bench;

/// <summary>
/// A <c>serve</c> process started from this executable, for the scale-out benchmark: a real worker on the task hub,
/// as a second machine would run it. Killed (with anything it started) on dispose.
/// </summary>
internal sealed partial class ServeWorker : IAsyncDisposable
{
    const int TailLines = 40;

    readonly Process process;
    readonly Queue<string> tail = new();
    readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    int deletedAgents;

    ServeWorker(Process process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => Received(e.Data);
        process.ErrorDataReceived += (_, e) => Received(e.Data);
        process.EnableRaisingEvents = true;
        process.Exited += (_, _) => ready.TrySetException(new ServeWorkerExitedException(process.ExitCode, Tail));
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Where its API is served, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Agents this worker's activities deleted so far (from its log): the share of the jobs it finished.</summary>
    public int DeletedAgents => Volatile.Read(ref deletedAgents);

    /// <summary>Its last lines of output, for an error message.</summary>
    public string Tail
    {
        get
        {
            lock (tail)
            {
                return string.Join(Environment.NewLine, tail);
            }
        }
    }

    /// <summary>Starts <c>serve</c> on a free loopback port with <paramref name="arguments"/> and waits until it announces its API.</summary>
    /// <param name="arguments">Further <c>serve</c> options.</param>
    /// <param name="environment">Extra environment variables (settings kept off the command line, e.g. a connection string).</param>
    /// <param name="timeout">How long starting may take.</param>
    /// <param name="cancellationToken">Cancels the wait (the process is then killed).</param>
    public static async Task<ServeWorker> StartAsync(
        IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var port = AgentJobs.Hosting.GrpcSidecarBackend.FreeLoopbackPort();
        var info = new ProcessStartInfo(Environment.ProcessPath ?? throw new InvalidOperationException("The path of this process is unknown."))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Run as 'dotnet AgentFunctions.Local.dll' (dotnet run, tests) or as the apphost: start the same either way.
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            info.ArgumentList.Add(typeof(ServeWorker).Assembly.Location);
        }

        foreach (var argument in (string[])["serve", "--urls", $"http://127.0.0.1:{port}", .. arguments])
        {
            info.ArgumentList.Add(argument);
        }

        // The bench calls the workers without a key (they listen on loopback only).
        info.Environment.Remove(LocalHost.ServeKeySetting.Replace(":", "__", StringComparison.Ordinal));
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        var worker = new ServeWorker(Process.Start(info) ?? throw new InvalidOperationException("serve did not start."), new Uri($"http://127.0.0.1:{port}/"));
        try
        {
            await worker.ready.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return worker;
        }
        catch
        {
            await worker.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }

            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            // Already gone, or it will be by the time anyone looks.
        }

        process.Dispose();
    }

    void Received(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (tail)
        {
            tail.Enqueue(line);
            if (tail.Count > TailLines)
            {
                tail.Dequeue();
            }
        }

        if (AgentDeleted().IsMatch(line))
        {
            Interlocked.Increment(ref deletedAgents);
        }

        if (line.StartsWith("Agent jobs API:", StringComparison.Ordinal))
        {
            ready.TrySetResult();
        }
    }

    // AgentJobActivities.DeleteAgent logs "Agent {AgentId} deleted." at Information, which serve writes.
    [GeneratedRegex(@"Agent \S+ deleted\.")]
    private static partial Regex AgentDeleted();
}

/// <summary>A <c>serve</c> worker ended before it announced its API (e.g. it refused its settings).</summary>
internal sealed class ServeWorkerExitedException(int exitCode, string output)
    : Exception($"serve exited with {exitCode}: {output}")
{
    /// <summary>The worker's last <c>error:</c> line, or its last line of output.</summary>
    public string Reason { get; } =
        output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith("error:", StringComparison.Ordinal))?["error:".Length..].Trim()
        ?? output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
        ?? $"exit code {exitCode}";
}
