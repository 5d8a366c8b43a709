using System.Xml.Linq;

namespace Infra.Tests;

/// <summary>The Flex Consumption Function App: plan, runtime, identity, deployment storage and settings.</summary>
public sealed class FunctionAppTests(TemplateFixture fixture)
{
    /// <summary>Every setting name the app reads in Azure (a contract with src/AgentFunctions).</summary>
    public static TheoryData<string> RequiredSettings =>
    [
        "AgentService__Protocol",
        "AgentService__Endpoint",
        "AgentService__Model",
        "TaskHubName",
        "AgentJobs__RetentionDays",
        "AZURE_CLIENT_ID",
        "AzureWebJobsStorage__accountName",
        "AzureWebJobsStorage__credential",
        "AzureWebJobsStorage__clientId",
        "AzureWebJobsStorage__blobServiceUri",
        "AzureWebJobsStorage__queueServiceUri",
        "AzureWebJobsStorage__tableServiceUri",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
        "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
        "AzureFunctionsJobHost__extensions__durableTask__tracing__distributedTracingEnabled",
        "AzureFunctionsJobHost__extensions__durableTask__tracing__version",
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
    ];

    private ModuleDeployment Module => AppSettings.FunctionAppModule(fixture.Template);

    private IReadOnlyDictionary<string, string> Settings => AppSettings.Read(Module);

    [Fact]
    public void Plan_is_Flex_Consumption_on_Linux()
    {
        var plan = Module.Single("Microsoft.Web/serverfarms");
        Assert.Equal("FC1", (string?)plan["sku"]!["name"]);
        Assert.Equal("FlexConsumption", (string?)plan["sku"]!["tier"]);
        Assert.True((bool)plan["properties"]!["reserved"]!);

        var site = Module.Single("Microsoft.Web/sites");
        Assert.Equal("functionapp,linux", (string?)site["kind"]);
        Assert.Equal($"[resourceId('Microsoft.Web/serverfarms', {ArmTemplate.Inner((string)plan["name"]!)})]",
            (string?)site["properties"]!["serverFarmId"]);
    }

    [Fact]
    public void Runtime_is_dotnet_isolated_at_the_projects_target_framework()
    {
        var targetFramework = XDocument.Load(RepoPaths.File("Directory.Build.props"))
            .Descendants("TargetFramework").Single().Value.Trim();
        Assert.StartsWith("net", targetFramework, StringComparison.Ordinal);
        var expectedVersion = targetFramework["net".Length..];

        var runtime = Module.Single("Microsoft.Web/sites")["properties"]!["functionAppConfig"]!["runtime"]!;
        Assert.Equal("[parameters('runtimeName')]", (string?)runtime["name"]);
        Assert.Equal("[parameters('runtimeVersion')]", (string?)runtime["version"]);
        Assert.Equal("dotnet-isolated", Module.ParameterExpression("runtimeName"));
        Assert.Equal("[parameters('functionsRuntimeVersion')]", Module.ParameterExpression("runtimeVersion"));
        Assert.Equal(expectedVersion, (string?)fixture.Template.Parameter("functionsRuntimeVersion")["defaultValue"]);
    }

    [Fact]
    public void Instance_memory_and_maximum_instances_are_parameters()
    {
        var scale = Module.Single("Microsoft.Web/sites")["properties"]!["functionAppConfig"]!["scaleAndConcurrency"]!;
        Assert.Equal("[parameters('instanceMemoryMB')]", (string?)scale["instanceMemoryMB"]);
        Assert.Equal("[parameters('maximumInstanceCount')]", (string?)scale["maximumInstanceCount"]);
        Assert.Equal("[parameters('instanceMemoryMB')]", Module.ParameterExpression("instanceMemoryMB"));
        Assert.Equal("[parameters('maximumInstanceCount')]", Module.ParameterExpression("maximumInstanceCount"));
        Assert.Equal(2048, (int)fixture.Template.Parameter("instanceMemoryMB")["defaultValue"]!);
        Assert.Equal("int", (string?)fixture.Template.Parameter("maximumInstanceCount")["type"]);
    }

    [Fact]
    public void App_runs_as_the_user_assigned_identity_and_deploys_through_it()
    {
        var site = Module.Single("Microsoft.Web/sites");
        Assert.Equal("UserAssigned", (string?)site["identity"]!["type"]);
        var identities = site["identity"]!["userAssignedIdentities"]!.AsObject();
        Assert.Single(identities);
        Assert.Contains("parameters('identityId')", identities.Single().Key, StringComparison.Ordinal);
        Assert.Contains("'identity')", Module.ParameterExpression("identityId"), StringComparison.Ordinal);
        Assert.Contains(".outputs.id.value", Module.ParameterExpression("identityId"), StringComparison.Ordinal);

        var storage = site["properties"]!["functionAppConfig"]!["deployment"]!["storage"]!;
        Assert.Equal("blobContainer", (string?)storage["type"]);
        Assert.Equal("UserAssignedIdentity", (string?)storage["authentication"]!["type"]);
        Assert.Equal("[parameters('identityId')]", (string?)storage["authentication"]!["userAssignedIdentityResourceId"]);
        Assert.Null(storage["authentication"]!["storageAccountConnectionStringName"]);
        Assert.Contains("outputs.deploymentContainerUrl.value", Module.ParameterExpression("deploymentContainerUrl"), StringComparison.Ordinal);
        Assert.True((bool)site["properties"]!["httpsOnly"]!);
    }

    [Theory]
    [InlineData("identity")]
    [InlineData("storage")]
    [InlineData("monitoring")]
    [InlineData("foundry")]
    [InlineData("durable-task-scheduler")]
    public void App_deploys_after_the_module_that_grants_it_access(string module)
    {
        // A module deployment finishes only after its role assignments, so the app never starts without its grants.
        var function = fixture.Template.Module(Module.Name);
        var dependsOn = function.Deployment["dependsOn"]?.AsArray().Select(d => (string?)d ?? "").ToList() ?? [];
        Assert.Contains(dependsOn, d => d.EndsWith($"'Microsoft.Resources/deployments', '{module}')]", StringComparison.Ordinal));
    }

    [Fact]
    public void Basic_publishing_credentials_are_disabled()
    {
        var policies = Module.OfType("Microsoft.Web/sites/basicPublishingCredentialsPolicies").ToList();
        Assert.Equal(2, policies.Count);
        Assert.All(policies, p => Assert.False((bool)p["properties"]!["allow"]!));
    }

    [Theory]
    [MemberData(nameof(RequiredSettings))]
    public void App_setting_is_present(string name) =>
        Assert.True(Settings.ContainsKey(name), $"app setting '{name}' is missing; present: {string.Join(", ", Settings.Keys)}");

    [Fact]
    public void Storage_connection_is_identity_based()
    {
        Assert.Equal("managedidentity", Settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("[parameters('identityClientId')]", Settings["AzureWebJobsStorage__clientId"]);
        Assert.Equal("[parameters('identityClientId')]", Settings["AZURE_CLIENT_ID"]);
        Assert.Equal("[parameters('storageAccountName')]", Settings["AzureWebJobsStorage__accountName"]);
        Assert.DoesNotContain("AzureWebJobsStorage", Settings.Keys);
        Assert.Contains("'storage')", Module.ParameterExpression("storageAccountName"), StringComparison.Ordinal);
        Assert.Contains(".outputs.clientId.value", Module.ParameterExpression("identityClientId"), StringComparison.Ordinal);
        Assert.Contains("'identity')", Module.ParameterExpression("identityClientId"), StringComparison.Ordinal);
    }

    [Fact]
    public void Application_Insights_uses_Entra_ID_authentication()
    {
        Assert.Equal("[format('ClientId={0};Authorization=AAD', parameters('identityClientId'))]",
            Settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]);
        Assert.Contains("'monitoring')", Module.ParameterExpression("applicationInsightsConnectionString"), StringComparison.Ordinal);
    }

    [Fact]
    public void Telemetry_settings_are_the_ones_the_OpenTelemetry_worker_reads_and_no_classic_agent_is_configured()
    {
        // The worker exports with OpenTelemetry (Azure Monitor exporter) and turns the authentication string into a
        // managed identity credential; the host joins it in OpenTelemetry mode. No key-based or agent-based setting.
        var worker = File.ReadAllText(RepoPaths.File("src/AgentFunctions/AzureMonitorSettings.cs"));
        Assert.Contains("\"APPLICATIONINSIGHTS_CONNECTION_STRING\"", worker, StringComparison.Ordinal);
        Assert.Contains("\"APPLICATIONINSIGHTS_AUTHENTICATION_STRING\"", worker, StringComparison.Ordinal);
        Assert.Contains("\"telemetryMode\": \"OpenTelemetry\"", File.ReadAllText(RepoPaths.File("host.json")), StringComparison.Ordinal);
        Assert.DoesNotContain("APPINSIGHTS_INSTRUMENTATIONKEY", Settings.Keys);
        Assert.DoesNotContain("ApplicationInsightsAgent_EXTENSION_VERSION", Settings.Keys);
        Assert.EndsWith("Authorization=AAD', parameters('identityClientId'))]", Settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"], StringComparison.Ordinal);

        // Durable distributed tracing V2 is on where Application Insights is (host.json leaves it off for func start).
        Assert.Equal("true", Settings["AzureFunctionsJobHost__extensions__durableTask__tracing__distributedTracingEnabled"]);
        Assert.Equal("V2", Settings["AzureFunctionsJobHost__extensions__durableTask__tracing__version"]);
    }

    [Fact]
    public void Agent_settings_point_at_the_Foundry_project_and_model_deployment()
    {
        Assert.Equal("[parameters('agentEndpoint')]", Settings["AgentService__Endpoint"]);
        Assert.Equal("[parameters('agentModel')]", Settings["AgentService__Model"]);
        Assert.Equal("[parameters('agentProtocol')]", Settings["AgentService__Protocol"]);
        Assert.Contains("'foundry'), '", Module.ParameterExpression("agentEndpoint"), StringComparison.Ordinal);
        Assert.Contains(".outputs.projectEndpoint.value", Module.ParameterExpression("agentEndpoint"), StringComparison.Ordinal);
        Assert.Contains(".outputs.modelDeploymentName.value", Module.ParameterExpression("agentModel"), StringComparison.Ordinal);
        Assert.Equal("[parameters('agentProtocol')]", Module.ParameterExpression("agentProtocol"));

        var protocol = fixture.Template.Parameter("agentProtocol");
        Assert.Equal("classic", (string?)protocol["defaultValue"]);
        Assert.Equal(["classic", "foundry"], protocol["allowedValues"]!.AsArray().Select(v => (string)v!).Order());
    }

    [Fact]
    public void Retention_days_come_from_a_parameter_defaulting_to_seven_and_never_negative()
    {
        Assert.Equal("[string(parameters('retentionDays'))]", Settings["AgentJobs__RetentionDays"]);
        Assert.Equal("[parameters('retentionDays')]", Module.ParameterExpression("retentionDays"));
        var retention = fixture.Template.Parameter("retentionDays");
        Assert.Equal(7, (int)retention["defaultValue"]!);
        Assert.Equal(0, (int)retention["minValue"]!);
    }

    [Fact]
    public void The_stream_window_comes_from_a_parameter_bounded_like_the_apps_setting()
    {
        Assert.Equal("[string(parameters('streamWindowSeconds'))]", Settings["AgentJobs__StreamWindowSeconds"]);
        Assert.Equal("[parameters('streamWindowSeconds')]", Module.ParameterExpression("streamWindowSeconds"));
        var window = fixture.Template.Parameter("streamWindowSeconds");
        Assert.Equal(10, (int)window["defaultValue"]!); // AgentJobsApiOptions.DefaultStreamWindowSeconds
        Assert.Equal(0, (int)window["minValue"]!);
        Assert.Equal(120, (int)window["maxValue"]!); // PollingSettings.MaxStreamWindowSeconds
    }

    [Fact]
    public void Task_hub_name_defaults_to_an_alphanumeric_name_from_the_environment()
    {
        Assert.Equal("[parameters('taskHubName')]", Settings["TaskHubName"]);
        Assert.Equal("[variables('effectiveTaskHubName')]", Module.ParameterExpression("taskHubName"));
        var variables = fixture.Template.Root["variables"]!;
        var effective = (string)variables["effectiveTaskHubName"]!;
        Assert.Contains("parameters('taskHubName')", effective, StringComparison.Ordinal);
        Assert.Contains("variables('cleanEnvironmentName')", effective, StringComparison.Ordinal);
        var clean = (string)variables["cleanEnvironmentName"]!;
        Assert.Contains("parameters('environmentName')", clean, StringComparison.Ordinal);
        foreach (var separator in new[] { "'-'", "'_'", "'.'" })
        {
            Assert.Contains($"{separator}, ''", clean, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Durable_Task_Scheduler_connection_string_is_identity_based_and_only_set_when_enabled()
    {
        var value = Settings["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"];
        Assert.StartsWith("[if(empty(parameters('durableTaskSchedulerEndpoint')), createObject(),", value, StringComparison.Ordinal);
        Assert.Contains("format('Endpoint={0};Authentication=ManagedIdentity;ClientID={1}', parameters('durableTaskSchedulerEndpoint'), parameters('identityClientId'))",
            value, StringComparison.Ordinal);

        var endpoint = Module.ParameterExpression("durableTaskSchedulerEndpoint");
        Assert.StartsWith("[if(parameters('enableDurableTaskScheduler'),", endpoint, StringComparison.Ordinal);
        Assert.Contains("'durable-task-scheduler'), '", endpoint, StringComparison.Ordinal);
        Assert.Contains(".outputs.endpoint.value", endpoint, StringComparison.Ordinal);
    }

    [Fact]
    public void No_setting_carries_a_key_and_Flex_forbidden_settings_are_absent()
    {
        Assert.DoesNotContain("AgentService__ApiKey", Settings.Keys);
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", Settings.Keys);
        Assert.DoesNotContain("WEBSITE_RUN_FROM_PACKAGE", Settings.Keys);
        Assert.DoesNotContain("APPINSIGHTS_INSTRUMENTATIONKEY", Settings.Keys);
        Assert.DoesNotContain(Settings, s => s.Key.Contains("Key", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public void Function_app_is_tagged_as_the_azd_api_service()
    {
        var site = Module.Single("Microsoft.Web/sites");
        Assert.Equal("[union(parameters('tags'), createObject('azd-service-name', parameters('serviceName')))]", (string?)site["tags"]);
        Assert.Equal("api", Module.ParameterExpression("serviceName"));
    }
}
