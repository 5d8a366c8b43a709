namespace Infra.Tests;

/// <summary>The templates compile and lint with zero diagnostics, fully offline.</summary>
public sealed class CompileAndLintTests(TemplateFixture fixture)
{
    [Fact]
    public void Build_succeeds_with_no_diagnostics()
    {
        Assert.True(fixture.Build.ExitCode == 0, $"bicep build exited {fixture.Build.ExitCode}:\n{fixture.Build.StandardError}");
        Assert.True(string.IsNullOrWhiteSpace(fixture.Build.StandardError),
            $"bicep build reported diagnostics (warnings count as failures):\n{fixture.Build.StandardError}");
        Assert.NotNull(fixture.Compiled);
    }

    [Fact]
    public void Lint_reports_nothing()
    {
        var output = (fixture.Lint.StandardOutput + fixture.Lint.StandardError).Trim();
        Assert.True(fixture.Lint.ExitCode == 0, $"bicep lint exited {fixture.Lint.ExitCode}:\n{output}");
        Assert.True(output.Length == 0, $"bicep lint reported diagnostics:\n{output}");
    }

    [Fact]
    public void Every_module_is_a_local_file_so_nothing_is_fetched_from_a_registry()
    {
        var bicepFiles = RepoPaths.BicepFiles;
        Assert.NotEmpty(bicepFiles);
        foreach (var file in bicepFiles)
        {
            var text = File.ReadAllText(file);
            Assert.DoesNotContain("'br:", text, StringComparison.Ordinal);
            Assert.DoesNotContain("'br/", text, StringComparison.Ordinal);
            Assert.DoesNotContain("'ts:", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Lint_configuration_does_not_relax_the_default_rules()
    {
        // The file raises several rules to error; without it this test would pass on nothing.
        var config = Path.Combine(RepoPaths.Infra, "bicepconfig.json");
        Assert.True(File.Exists(config), $"{config} is missing");

        var root = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        Assert.NotEqual(false, (bool?)root["analyzers"]?["core"]?["enabled"]);
        var rules = root["analyzers"]?["core"]?["rules"]?.AsObject() ?? [];
        // Only a rule that needs the network (module version look-ups) may be switched off.
        var relaxed = rules
            .Where(r => (string?)r.Value?["level"] is "off" or "info" && r.Key != "use-recent-module-versions")
            .Select(r => r.Key)
            .ToList();
        Assert.Empty(relaxed);
    }
}
