using System.Diagnostics;
using System.Net;
using System.Text;

namespace AgentFunctions.Tests.Support;

/// <summary>
/// The Functions app under a real Azure Functions host: <c>func start --script-root &lt;the app's build output&gt;
/// --port N</c> (see <see cref="FuncCli"/>), started as a process on 127.0.0.1 with the settings given as environment
/// variables (which win over any local.settings.json, as with Core Tools). The host runs the app in Development, as
/// <c>func start</c> does. Disposing kills the launcher, the host and the isolated worker.
/// </summary>
public sealed class FunctionsHostProcess : IAsyncDisposable
{
    const int MaxOutputChars = 4 * 1024 * 1024;

    readonly Process process;
    readonly StringBuilder output = new();

    FunctionsHostProcess(Process process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => Received(e.Data);
        process.ErrorDataReceived += (_, e) => Received(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Where the host listens, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Whether the launcher (and so the host) is still running.</summary>
    public bool IsRunning => !process.HasExited;

    /// <summary>Everything the launcher, the host and the worker wrote so far (the last 4 MB).</summary>
    public string Output
    {
        get
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts the host on <paramref name="port"/> with <paramref name="settings"/> and waits (bounded by
    /// <paramref name="timeout"/>) until it answers <c>/admin/host/ping</c>. Functions may still be loading then:
    /// callers wait for an endpoint of their own.
    /// </summary>
    public static async Task<FunctionsHostProcess> StartAsync(
        int port, IReadOnlyDictionary<string, string> settings, bool enableAuth, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var func = FuncCli.Locate();
        var output = RepoFiles.FunctionsOutput;
        if (!File.Exists(Path.Combine(output, "functions.metadata")))
        {
            throw new InvalidOperationException($"The Functions app is not built at {output} (no functions.metadata); build the solution first.");
        }

        var info = new ProcessStartInfo(func)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            // An empty folder: the settings are the ones given here, not a developer's local.settings.json.
            WorkingDirectory = Directory.CreateTempSubdirectory("agentfunctions-func-").FullName,
        };
        foreach (var arg in new[] { "start", "--script-root", output, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        if (enableAuth)
        {
            info.ArgumentList.Add("--enableAuth");
        }

        // The developer's own settings must not leak in.
        foreach (var name in info.Environment.Keys.Where(k => k.StartsWith("AgentService__", StringComparison.Ordinal) || k.StartsWith("AgentJobs__", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(name);
        }

        foreach (var (name, value) in FuncCli.HostEnvironment(func).Concat(settings))
        {
            info.Environment[name] = value;
        }

        var host = new FunctionsHostProcess(Process.Start(info) ?? throw new InvalidOperationException($"{func} did not start."), new Uri($"http://127.0.0.1:{port}/"));
        try
        {
            await host.WaitForPingAsync(timeout, cancellationToken);
            return host;
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    async Task WaitForPingAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"func exited with {process.ExitCode} before the host answered. Output:\n{Tail()}");
            }

            if (deadline.Elapsed > timeout)
            {
                throw new TimeoutException($"The Functions host did not answer /admin/host/ping in {timeout}. Output:\n{Tail()}");
            }

            try
            {
                using var ping = await http.GetAsync("admin/host/ping", cancellationToken);
                if (ping.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                // Not listening yet.
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>The last lines of <see cref="Output"/>, for failure messages.</summary>
    public string Tail(int chars = 20_000)
    {
        var text = Output;
        return text.Length <= chars ? text : "…" + text[^chars..];
    }

    /// <summary>Kills the launcher, the host and the isolated worker at once (SIGKILL), as a crashed machine would.</summary>
    public Task KillAsync() => AgentFunctions.Local.Tests.Support.LocalCli.KillTreeAsync(process);

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }

    void Received(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (output)
        {
            if (output.Length > MaxOutputChars)
            {
                output.Remove(0, output.Length - (MaxOutputChars / 2));
            }

            output.AppendLine(line);
        }
    }
}
