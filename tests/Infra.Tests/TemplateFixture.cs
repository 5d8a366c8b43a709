using System.Text.Json.Nodes;

[assembly: AssemblyFixture(typeof(Infra.Tests.TemplateFixture))]

namespace Infra.Tests;

/// <summary>Builds and lints infra/main.bicep once for the whole test run.</summary>
public sealed class TemplateFixture
{
    public TemplateFixture()
    {
        Build = BicepCli.Run("build", RepoPaths.MainBicep, "--stdout");
        Lint = BicepCli.Run("lint", RepoPaths.MainBicep);
        if (Build.ExitCode == 0 && JsonNode.Parse(Build.StandardOutput) is JsonObject root)
        {
            Compiled = new ArmTemplate(root);
        }
    }

    internal BicepRun Build { get; }

    internal BicepRun Lint { get; }

    internal ArmTemplate? Compiled { get; }

    internal ArmTemplate Template
    {
        get
        {
            Assert.True(Compiled is not null, $"bicep build failed (exit {Build.ExitCode}):\n{Build.StandardError}");
            return Compiled!;
        }
    }
}
