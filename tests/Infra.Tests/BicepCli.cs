using System.Diagnostics;

namespace Infra.Tests;

/// <summary>Result of one bicep CLI invocation.</summary>
internal sealed record BicepRun(int ExitCode, string StandardOutput, string StandardError);

/// <summary>Runs the Bicep CLI offline (no registry modules are used, so it never needs the network).</summary>
internal static class BicepCli
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    public static BicepRun Run(params string[] arguments)
    {
        var start = new ProcessStartInfo(RepoPaths.BicepCli())
        {
            WorkingDirectory = RepoPaths.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Verbose tracing off: diagnostics are the only thing expected on stderr.
        start.Environment["BICEP_TRACING_ENABLED"] = "false";

        using var process = Process.Start(start) ?? throw new InvalidOperationException("bicep did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"bicep {string.Join(' ', arguments)} did not finish within {Timeout}.");
        }

        process.WaitForExit();
        return new BicepRun(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}
