namespace AgentFunctions.Tests.Support;

/// <summary>
/// Finds the <c>func</c> command that runs the Functions app as users run it: Azure Functions Core Tools from PATH
/// where a developer has it, otherwise the Functions host launcher in <c>../shared/funchost</c> beside the repository
/// (these machines and CI, where <c>.ci/run</c> also puts it on PATH).
/// </summary>
public static class FuncCli
{
    /// <summary>The <c>func</c> executable, or an exception saying how to get one.</summary>
    public static string Locate()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir => OperatingSystem.IsWindows() ? new[] { Path.Combine(dir, "func.exe"), Path.Combine(dir, "func.cmd") } : [Path.Combine(dir, "func")])
            .FirstOrDefault(File.Exists);
        if (onPath is not null)
        {
            return onPath;
        }

        var shared = Path.GetFullPath(Path.Combine(RepoFiles.Root, "..", "shared", "funchost", "func"));
        if (File.Exists(shared))
        {
            return shared;
        }

        var ci = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        throw new InvalidOperationException(
            "The Functions app tests run the app under a real Azure Functions host and found no 'func': " +
            $"none on PATH and none at {shared}. " +
            (ci
                ? "CI must have ../shared/funchost beside the clone (.ci/run puts its func on PATH)."
                : "Install Azure Functions Core Tools v4 (e.g. 'npm i -g azure-functions-core-tools@4', or see " +
                  "https://learn.microsoft.com/azure/azure-functions/functions-run-local) so that 'func' is on PATH."));
    }

    /// <summary>
    /// Extra environment the host needs when <paramref name="func"/> is the launcher in shared/funchost: a folder of
    /// language workers to enumerate. That folder is empty by design (a dotnet-isolated app brings its own
    /// worker.config.json) and so is lost where shared/ is copied without empty folders, which stops the host at
    /// startup; an empty folder of our own serves the same purpose. Core Tools needs nothing.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string>> HostEnvironment(string func)
    {
        var hostFolder = Path.Combine(Path.GetDirectoryName(func)!, "host");
        if (Directory.Exists(hostFolder) && !Directory.Exists(Path.Combine(hostFolder, "workers")))
        {
            var empty = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "agentfunctions-funchost-workers")).FullName;
            yield return new("languageWorkers__workersDirectory", empty);
        }
    }
}
