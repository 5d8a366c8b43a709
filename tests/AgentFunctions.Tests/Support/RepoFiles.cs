using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Configuration;

namespace AgentFunctions.Tests.Support;

/// <summary>Finds files of the repository and of the Functions app's build output.</summary>
static class RepoFiles
{
    /// <summary>The repository root: the first folder above the test assembly that holds AgentFunctions.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The build configuration the tests were built with (the Functions app is built with the same).</summary>
    public static string Configuration { get; } =
        typeof(RepoFiles).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";

    /// <summary>A file under the repository root.</summary>
    public static string At(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>The Functions app's output folder (where functions.metadata, host.json and worker.config.json land).</summary>
    public static string FunctionsOutput =>
        At("src", "AgentFunctions", "bin", Configuration, "net10.0");

    /// <summary>The app's settings as a developer's local.settings.json has them (local.settings.sample.json's Values).</summary>
    public static IConfiguration SampleConfiguration()
    {
        using var sample = JsonDocument.Parse(File.ReadAllText(At("local.settings.sample.json")));
        var values = sample.RootElement.GetProperty("Values").EnumerateObject()
            .ToDictionary(p => p.Name.Replace("__", ":", StringComparison.Ordinal), p => p.Value.GetString());
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AgentFunctions.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"AgentFunctions.sln not found above {AppContext.BaseDirectory}.");
    }
}
