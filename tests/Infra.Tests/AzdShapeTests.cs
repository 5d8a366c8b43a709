using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Infra.Tests;

/// <summary>What the Azure Developer CLI relies on: azure.yaml, the parameters file, tags, naming and outputs.</summary>
public sealed partial class AzdShapeTests(TemplateFixture fixture)
{
    [Fact]
    public void Azure_yaml_deploys_the_functions_project_as_service_api()
    {
        var yaml = SimpleYaml.Parse(File.ReadAllText(RepoPaths.File("azure.yaml")));
        var api = yaml.Map("services").Map("api");
        Assert.Equal("src/AgentFunctions", api.Scalar("project").TrimStart('.', '/').TrimEnd('/'));
        Assert.Equal("function", api.Scalar("host"));
        Assert.Equal("dotnet", api.Scalar("language"));
        Assert.Equal("infra", yaml.Map("infra").Scalar("path").TrimStart('.', '/').TrimEnd('/'));
        Assert.Equal("main", yaml.Map("infra").Scalar("module"));
    }

    [Fact]
    public void Main_is_subscription_scoped_and_creates_a_tagged_resource_group()
    {
        var template = fixture.Template;
        Assert.Contains("subscriptionDeploymentTemplate.json", (string?)template.Root["$schema"], StringComparison.Ordinal);
        var groups = ArmTemplate.ResourcesOf(template.Root).Where(r => (string?)r["type"] == "Microsoft.Resources/resourceGroups").ToList();
        Assert.Single(groups);
        Assert.Equal("[variables('tags')]", (string?)groups[0]["tags"]);
        Assert.Equal("[parameters('environmentName')]", (string?)template.Root["variables"]!["tags"]!["azd-env-name"]);
        Assert.Equal("location", (string?)template.Parameter("location")["metadata"]?["azd"]?["type"]);
    }

    [Fact]
    public void Every_module_tags_its_resources_with_the_environment()
    {
        foreach (var module in fixture.Template.Modules)
        {
            Assert.Equal("[variables('tags')]", module.ParameterExpression("tags"));
        }
    }

    [Fact]
    public void Names_derive_from_a_resource_token()
    {
        var variables = fixture.Template.Root["variables"]!;
        Assert.Equal("[toLower(uniqueString(subscription().id, parameters('environmentName'), parameters('location')))]",
            (string?)variables["resourceToken"]);
        var resourceNames = new (string Module, string Parameter)[]
        {
            ("identity", "name"),
            ("storage", "name"),
            ("monitoring", "logAnalyticsName"),
            ("monitoring", "applicationInsightsName"),
            ("foundry", "accountName"),
            ("foundry", "projectName"),
            ("durable-task-scheduler", "name"),
            ("function-app", "planName"),
        };
        foreach (var (module, parameter) in resourceNames)
        {
            Assert.Contains("variables('resourceToken')", fixture.Template.Module(module).ParameterExpression(parameter), StringComparison.Ordinal);
        }

        Assert.Equal("[variables('functionAppName')]", fixture.Template.Module("function-app").ParameterExpression("name"));
        Assert.Contains("variables('resourceToken')", (string?)variables["functionAppName"], StringComparison.Ordinal);
    }

    public static TheoryData<string> RequiredOutputs =>
    [
        "AZURE_LOCATION",
        "AZURE_TENANT_ID",
        "AZURE_RESOURCE_GROUP",
        "RESOURCE_GROUP",
        "AZURE_CLIENT_ID",
        "AZURE_FUNCTION_APP_NAME",
        "AZURE_FUNCTION_URI",
        "SERVICE_API_NAME",
        "SERVICE_API_URI",
        "SERVICE_API_ENDPOINT_URL",
        "AGENT_SERVICE_ENDPOINT",
        "AGENT_SERVICE_MODEL",
        "AZURE_STORAGE_ACCOUNT_NAME",
        "AZURE_AI_ACCOUNT_NAME",
        "AZURE_AI_PROJECT_NAME",
        "TASK_HUB_NAME",
        "DURABLE_TASK_SCHEDULER_ENDPOINT",
    ];

    [Theory]
    [MemberData(nameof(RequiredOutputs))]
    public void Output_is_declared(string name) =>
        Assert.True(fixture.Template.Root["outputs"]?[name] is JsonObject, $"main.bicep should output {name}");

    [Fact]
    public void Parameters_file_maps_azd_environment_values_onto_declared_parameters()
    {
        var file = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Infra, "main.parameters.json")))!;
        var parameters = file["parameters"]!.AsObject();
        Assert.Equal("${AZURE_ENV_NAME}", (string?)parameters["environmentName"]!["value"]);
        Assert.Equal("${AZURE_LOCATION}", (string?)parameters["location"]!["value"]);

        foreach (var (name, entry) in parameters)
        {
            var declared = fixture.Template.Parameter(name);
            var value = (string?)entry!["value"] ?? "";
            var substitution = Substitution().Match(value);
            if (substitution.Success && !substitution.Groups["default"].Success)
            {
                // An unset azd variable substitutes "", which would override a template default.
                Assert.True(declared["defaultValue"] is null,
                    $"parameter '{name}' has a default, so its mapping needs ${{VAR=default}}, not '{value}'");
            }
        }
    }

    [Fact]
    public void Parameters_file_reads_every_azd_variable_the_infra_readme_documents()
    {
        var parameters = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Infra, "main.parameters.json")))!["parameters"]!.AsObject();
        var rows = ReadmeParameterRow().Matches(File.ReadAllText(Path.Combine(RepoPaths.Infra, "README.md")));
        Assert.NotEmpty(rows);
        foreach (Match row in rows)
        {
            // "| `modelName` / `modelVersion` | ... | `AGENT_MODEL_NAME` / `AGENT_MODEL_VERSION` |" pairs them in order.
            var names = row.Groups["params"].Value.Split(" / ");
            var variables = row.Groups["vars"].Value.Split(" / ");
            Assert.Equal(names.Length, variables.Length);
            foreach (var (name, variable) in names.Zip(variables))
            {
                var value = (string?)parameters[name.Trim('`')]?["value"] ?? "(not mapped)";
                Assert.True(Substitution().Match(value).Groups["var"].Value == variable.Trim('`'),
                    $"infra/README.md says {variable} sets {name}, but main.parameters.json maps it to {value}");
            }
        }
    }

    /// <summary>A row of the README's parameter table that names azd variables: | `param` [/ `param`] | default | `VAR` [/ `VAR`] ... |</summary>
    [GeneratedRegex(@"^\| (?<params>`[A-Za-z]+`(?: / `[A-Za-z]+`)*) \|[^|\n]*\| (?<vars>`[A-Z0-9_]+`(?: / `[A-Z0-9_]+`)*)", RegexOptions.Multiline)]
    private static partial Regex ReadmeParameterRow();

    [GeneratedRegex(@"^\$\{(?<var>[A-Z0-9_]+)(?<default>=[^}]*)?\}$")]
    private static partial Regex Substitution();
}
