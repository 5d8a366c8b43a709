using System.Diagnostics;
using System.Text;

namespace AgentFunctions.Local.Tests.Support;

/// <summary>The <c>serve</c> verb as a real process on a free 127.0.0.1 port; killed (whole tree) on dispose.</summary>
public sealed class ServeProcess : IAsyncDisposable
{
    readonly Process process;
    readonly StringBuilder output = new();
    readonly TaskCompletionSource ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    ServeProcess(Process process, Uri baseAddress)
    {
        this.process = process;
        BaseAddress = baseAddress;
        process.OutputDataReceived += (_, e) => Received(e.Data);
        process.ErrorDataReceived += (_, e) => Received(e.Data);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException($"serve exited with {process.ExitCode}. Output: {Output}"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    /// <summary>Where the API is served, e.g. <c>http://127.0.0.1:40123/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Everything the process wrote so far (both streams).</summary>
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

    /// <summary>Starts <c>serve</c> with <paramref name="args"/> and waits (bounded) until it announces the API.</summary>
    public static Task<ServeProcess> StartAsync(TimeSpan timeout, params string[] args) => StartAsync(timeout, null, "127.0.0.1", args);

    /// <summary>
    /// Starts <c>serve</c> listening on <paramref name="bindHost"/> (e.g. <c>0.0.0.0</c>) at a free port, with extra
    /// environment variables, and waits (bounded) until it announces the API. <see cref="BaseAddress"/> is always
    /// 127.0.0.1: tests never send traffic to another address.
    /// </summary>
    public static async Task<ServeProcess> StartAsync(TimeSpan timeout, IDictionary<string, string>? environment, string bindHost, params string[] args)
    {
        // A free port can be taken by another process (another test assembly's hosts run at the same time) before serve
        // binds it; such a start is tried again on another port, a few times.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartOnFreePortAsync(timeout, environment, bindHost, args);
            }
            catch (InvalidOperationException ex) when (attempt < 3 && ex.Message.Contains("address already in use", StringComparison.Ordinal))
            {
            }
        }
    }

    static async Task<ServeProcess> StartOnFreePortAsync(TimeSpan timeout, IDictionary<string, string>? environment, string bindHost, string[] args)
    {
        var port = LocalCli.FreePort();
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        var serve = new ServeProcess(LocalCli.Start(environment, ["serve", "--urls", $"http://{bindHost}:{port}", .. args]), baseAddress);
        try
        {
            await serve.ready.Task.WaitAsync(timeout);
            return serve;
        }
        catch (TimeoutException)
        {
            await serve.DisposeAsync();
            throw new TimeoutException($"serve did not start in {timeout}. Output: {serve.Output}");
        }
        catch
        {
            await serve.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends a POSIX signal (e.g. <c>TERM</c>, <c>INT</c>) and waits (bounded) for the process to exit; returns its exit code.</summary>
    public async Task<int> SignalAndWaitAsync(string signal, TimeSpan timeout)
    {
        using (var kill = Process.Start("kill", [$"-{signal}", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!)
        {
            await kill.WaitForExitAsync();
        }

        await process.WaitForExitAsync().WaitAsync(timeout);
        return process.ExitCode;
    }

    /// <summary>Kills the process and everything it started, as a crash would (no graceful shutdown).</summary>
    public Task KillAsync() => LocalCli.KillTreeAsync(process);

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
            output.AppendLine(line);
        }

        if (line.StartsWith("Agent jobs API:", StringComparison.Ordinal))
        {
            ready.TrySetResult();
        }
    }
}
