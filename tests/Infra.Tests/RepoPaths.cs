using System.Reflection;

namespace Infra.Tests;

/// <summary>Locates the repository root and the Bicep CLI restored from NuGet.</summary>
internal static class RepoPaths
{
    private const string SolutionFile = "AgentFunctions.sln";

    public static string Root { get; } = FindRoot();

    public static string Infra => Path.Combine(Root, "infra");

    public static string MainBicep => Path.Combine(Infra, "main.bicep");

    /// <summary>main.bicep and every module under infra/.</summary>
    public static string[] BicepFiles => Directory.GetFiles(Infra, "*.bicep", SearchOption.AllDirectories);

    public static string File(params string[] relative) => Path.Combine([Root, .. relative]);

    /// <summary>
    /// The bicep executable: BICEP_PATH if set, else the path MSBuild baked in from the
    /// Azure.Bicep.CommandLine.linux-x64 package folder (tools/bicep).
    /// </summary>
    public static string BicepCli()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("BICEP_PATH");
        var fromBuild = typeof(RepoPaths).Assembly
            .GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "BicepCliPath")?.Value;
        var path = !string.IsNullOrWhiteSpace(fromEnvironment) ? fromEnvironment : fromBuild;

        if (string.IsNullOrWhiteSpace(path) || !System.IO.File.Exists(path))
        {
            Assert.Fail(
                $"Bicep CLI not found (looked at '{path}'). It comes from the NuGet package " +
                "Azure.Bicep.CommandLine.linux-x64 referenced by tests/Infra.Tests: run 'dotnet restore', " +
                "or set BICEP_PATH to a bicep executable.");
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = System.IO.File.GetUnixFileMode(path);
            const UnixFileMode executable = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
            if ((mode & UnixFileMode.UserExecute) == 0)
            {
                System.IO.File.SetUnixFileMode(path, mode | executable);
            }
        }

        return path!;
    }

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !System.IO.File.Exists(Path.Combine(directory.FullName, SolutionFile)))
        {
            directory = directory.Parent;
        }

        return directory?.FullName
            ?? throw new InvalidOperationException($"No {SolutionFile} above {AppContext.BaseDirectory}.");
    }
}
