using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace AgentFunctions.Local.Tests.Support;

/// <summary>
/// Azurite (the Azure Storage emulator, npm package <c>azurite@3.37.0</c>) on three free 127.0.0.1 ports with its
/// data in a temporary directory. Uses <c>&lt;repo&gt;/.tools/azurite</c>, installing it there with npm on first
/// use (a fresh clone in CI). <see cref="StartAsync"/> returns null with <see cref="UnavailableReason"/> set only
/// when Node.js or npm is not installed.
/// </summary>
public sealed class Azurite : IAsyncDisposable
{
    public const string Version = "3.37.0";

    // Azurite's well-known development account (public, documented; not a secret).
    const string Account = "devstoreaccount1";
    const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    static readonly SemaphoreSlim InstallLock = new(1, 1);

    readonly Process process;
    readonly string location;

    Azurite(Process process, string location, int blobPort, int queuePort, int tablePort)
    {
        this.process = process;
        this.location = location;
        ConnectionString =
            $"DefaultEndpointsProtocol=http;AccountName={Account};AccountKey={AccountKey};" +
            $"BlobEndpoint=http://127.0.0.1:{blobPort}/{Account};QueueEndpoint=http://127.0.0.1:{queuePort}/{Account};" +
            $"TableEndpoint=http://127.0.0.1:{tablePort}/{Account};";
    }

    /// <summary>Why Azurite cannot run here (no Node.js or npm), or null.</summary>
    public static string? UnavailableReason { get; private set; }

    /// <summary>The connection string of this instance.</summary>
    public string ConnectionString { get; }

    /// <summary>Starts Azurite, installing it first if needed; null when Node.js or npm is missing.</summary>
    public static async Task<Azurite?> StartAsync(CancellationToken cancellationToken = default)
    {
        if (FindOnPath("node") is not { } node)
        {
            UnavailableReason = "Node.js (node) is not on PATH, so Azurite cannot run; install Node.js to run the Azure Storage tests.";
            return null;
        }

        var script = await EnsureInstalledAsync(cancellationToken);
        if (script is null)
        {
            return null;
        }

        var location = Directory.CreateTempSubdirectory("azurite-").FullName;
        var (blob, queue, table) = (LocalCli.FreePort(), LocalCli.FreePort(), LocalCli.FreePort());
        var info = new ProcessStartInfo(node)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            script,
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", blob.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queuePort", queue.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tablePort", table.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--location", location, "--silent", "--disableTelemetry", "--skipApiVersionCheck",
        })
        {
            info.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        var process = Process.Start(info) ?? throw new InvalidOperationException("node did not start.");
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var azurite = new Azurite(process, location, blob, queue, table);
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            foreach (var port in new[] { blob, queue, table })
            {
                while (!await AcceptsAsync(port, cancellationToken))
                {
                    if (process.HasExited || DateTime.UtcNow > deadline)
                    {
                        lock (output)
                        {
                            throw new InvalidOperationException($"Azurite did not listen on 127.0.0.1:{port} (exited: {process.HasExited}). Output: {output}");
                        }
                    }

                    await Task.Delay(100, cancellationToken);
                }
            }

            return azurite;
        }
        catch
        {
            await azurite.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await LocalCli.KillTreeAsync(process);
        process.Dispose();
        TryDelete(location);
    }

    /// <summary>The Azurite entry script under <c>&lt;repo&gt;/.tools/azurite</c>, installed with npm if missing.</summary>
    static async Task<string?> EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        var prefix = Path.Combine(RepositoryRoot(), ".tools", "azurite");
        var script = Path.Combine(prefix, "node_modules", "azurite", "dist", "src", "azurite.js");
        await InstallLock.WaitAsync(cancellationToken);
        try
        {
            if (File.Exists(script))
            {
                return script;
            }

            if (FindOnPath("npm") is not { } npm)
            {
                UnavailableReason = $"Azurite is not installed in {prefix} and npm is not on PATH to install it; install Node.js (with npm) to run the Azure Storage tests.";
                return null;
            }

            Directory.CreateDirectory(prefix);
            var info = new ProcessStartInfo(npm)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { "install", "--prefix", prefix, $"azurite@{Version}", "--no-audit", "--no-fund" })
            {
                info.ArgumentList.Add(arg);
            }

            using var install = Process.Start(info) ?? throw new InvalidOperationException("npm did not start.");
            var stdout = install.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = install.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMinutes(4));
            try
            {
                await install.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                install.Kill(entireProcessTree: true);
                throw new TimeoutException($"npm install azurite@{Version} did not finish in 4 minutes.");
            }

            if (install.ExitCode != 0 || !File.Exists(script))
            {
                throw new InvalidOperationException($"npm install --prefix {prefix} azurite@{Version} failed (exit {install.ExitCode}): {await stdout} {await stderr}");
            }

            return script;
        }
        finally
        {
            InstallLock.Release();
        }
    }

    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Packages.props")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Directory.Packages.props above {AppContext.BaseDirectory}.");
    }

    static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (var candidate in OperatingSystem.IsWindows() ? new[] { name + ".cmd", name + ".exe" } : new[] { name })
            {
                var path = Path.Combine(dir, candidate);
                if (File.Exists(path))
                {
                    return path;
                }
            }
        }

        return null;
    }

    static async Task<bool> AcceptsAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(System.Net.IPAddress.Loopback, port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    internal static void TryDelete(string directory)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory, recursive: true);
                }

                return;
            }
            catch (IOException)
            {
                Thread.Sleep(200);
            }
            catch (UnauthorizedAccessException)
            {
                Thread.Sleep(200);
            }
        }
    }
}
