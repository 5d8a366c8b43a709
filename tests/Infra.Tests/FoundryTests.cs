namespace Infra.Tests;

/// <summary>The Microsoft Foundry account, project and model deployment the agents run on.</summary>
public sealed class FoundryTests(TemplateFixture fixture)
{
    private ModuleDeployment Module => fixture.Template.ModuleDeclaring("Microsoft.CognitiveServices/accounts");

    [Fact]
    public void Account_is_an_AIServices_account_that_hosts_projects()
    {
        var account = Module.Single("Microsoft.CognitiveServices/accounts");
        Assert.Equal("AIServices", (string?)account["kind"]);
        Assert.Equal("S0", (string?)account["sku"]!["name"]);
        Assert.Equal("SystemAssigned", (string?)account["identity"]!["type"]);
        var properties = account["properties"]!;
        Assert.True((bool)properties["allowProjectManagement"]!);
        Assert.Equal(account["name"]!.ToString(), (string?)properties["customSubDomainName"]);
    }

    [Fact]
    public void Project_is_a_child_of_the_account()
    {
        var account = ArmTemplate.Inner((string)Module.Single("Microsoft.CognitiveServices/accounts")["name"]!);
        var project = Module.Single("Microsoft.CognitiveServices/accounts/projects");
        Assert.Equal($"[format('{{0}}/{{1}}', {account}, parameters('projectName'))]", (string?)project["name"]);
    }

    [Fact]
    public void Endpoint_output_is_the_project_endpoint_on_the_custom_subdomain()
    {
        var output = (string?)Module.Template["outputs"]!["projectEndpoint"]!["value"];
        Assert.Equal("[format('https://{0}.services.ai.azure.com/api/projects/{1}', parameters('accountName'), parameters('projectName'))]", output);
        Assert.Equal("[parameters('accountName')]", (string?)Module.Single("Microsoft.CognitiveServices/accounts")["properties"]!["customSubDomainName"]);
    }

    [Fact]
    public void Model_deployment_is_parameterised()
    {
        var deployment = Module.Single("Microsoft.CognitiveServices/accounts/deployments");
        Assert.Equal("[format('{0}/{1}', parameters('accountName'), parameters('modelDeploymentName'))]", (string?)deployment["name"]);
        Assert.Equal("[parameters('modelSkuName')]", (string?)deployment["sku"]!["name"]);
        Assert.Equal("[parameters('modelCapacity')]", (string?)deployment["sku"]!["capacity"]);
        var model = deployment["properties"]!["model"]!;
        Assert.Equal("[parameters('modelName')]", (string?)model["name"]);
        Assert.Equal("[parameters('modelVersion')]", (string?)model["version"]);
        Assert.Equal("[parameters('modelDeploymentName')]", (string?)Module.Template["outputs"]!["modelDeploymentName"]!["value"]);

        var main = fixture.Template;
        Assert.Equal("GlobalStandard", (string?)main.Parameter("modelSkuName")["defaultValue"]);
        Assert.False(string.IsNullOrWhiteSpace((string?)main.Parameter("modelName")["defaultValue"]));
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}$", (string?)main.Parameter("modelVersion")["defaultValue"] ?? "");
        Assert.True((int)main.Parameter("modelCapacity")["defaultValue"]! >= 1);
        foreach (var parameter in new[] { "modelName", "modelVersion", "modelDeploymentName", "modelSkuName", "modelCapacity" })
        {
            Assert.Equal($"[parameters('{parameter}')]", Module.ParameterExpression(parameter));
        }
    }
}
