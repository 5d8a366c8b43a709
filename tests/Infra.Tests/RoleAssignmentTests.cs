namespace Infra.Tests;

/// <summary>Each data-plane role the app identity needs exists, with the right role and the right scope.</summary>
public sealed class RoleAssignmentTests(TemplateFixture fixture)
{
    public static TheoryData<string, string, string> AppRoles => new()
    {
        // role name, built-in role definition id, resource type the assignment must be scoped to
        { "Storage Blob Data Owner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b", "Microsoft.Storage/storageAccounts" },
        { "Storage Queue Data Contributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88", "Microsoft.Storage/storageAccounts" },
        { "Storage Table Data Contributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3", "Microsoft.Storage/storageAccounts" },
        { "Monitoring Metrics Publisher", "3913510d-42f4-4e42-8a64-420c390055eb", "Microsoft.Insights/components" },
        { "Azure AI User", "53ca6127-db72-4b80-b1b0-d745d6d5456d", "Microsoft.CognitiveServices/accounts" },
        { "Durable Task Data Contributor", "0ad04412-c4d5-4796-b79c-f76d14c8d402", "Microsoft.DurableTask/schedulers" },
    };

    [Theory]
    [MemberData(nameof(AppRoles))]
    public void App_identity_holds_role_on_the_right_resource(string roleName, string roleId, string scopeType)
    {
        var template = fixture.Template;
        var module = template.ModuleDeclaring(scopeType);
        var target = module.Single(scopeType);
        var targetName = ArmTemplate.Inner((string)target["name"]!);
        var expectedRole = $"[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '{roleId}')]";
        var expectedScope = $"[resourceId('{scopeType}', {targetName})]";

        var assignments = module.OfType("Microsoft.Authorization/roleAssignments")
            .Where(a => module.ResolveStringVariables((string)a["properties"]!["roleDefinitionId"]!) == expectedRole)
            .Where(a => (string?)a["properties"]!["principalId"] == "[parameters('appPrincipalId')]")
            .ToList();

        Assert.True(assignments.Count == 1,
            $"module '{module.Name}' should assign {roleName} ({roleId}) to the app identity exactly once, found {assignments.Count}");
        var assignment = assignments[0];
        Assert.Equal(expectedScope, (string?)assignment["scope"]);
        Assert.Equal("ServicePrincipal", (string?)assignment["properties"]!["principalType"]);
        Assert.Null(assignment["condition"]);

        // The principal is the user-assigned identity the Function App runs as.
        var principal = module.ParameterExpression("appPrincipalId");
        Assert.Contains("'Microsoft.Resources/deployments', 'identity')", principal, StringComparison.Ordinal);
        Assert.Contains(".outputs.principalId.value", principal, StringComparison.Ordinal);
    }

    [Fact]
    public void Storage_roles_are_scoped_to_the_account_not_the_resource_group()
    {
        var storage = fixture.Template.ModuleDeclaring("Microsoft.Storage/storageAccounts");
        var assignments = storage.OfType("Microsoft.Authorization/roleAssignments").ToList();
        Assert.Equal(3, assignments.Count);
        Assert.All(assignments, a => Assert.StartsWith(
            "[resourceId('Microsoft.Storage/storageAccounts', ", (string?)a["scope"] ?? "(no scope: resource group)", StringComparison.Ordinal));
    }

    [Fact]
    public void Role_assignment_names_are_deterministic_guids_of_scope_principal_and_role()
    {
        foreach (var module in fixture.Template.Modules)
        {
            foreach (var assignment in module.OfType("Microsoft.Authorization/roleAssignments"))
            {
                var name = (string)assignment["name"]!;
                Assert.StartsWith("[guid(", name, StringComparison.Ordinal);
                Assert.Contains(ArmTemplate.Inner((string)assignment["scope"]!), name, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Durable_Task_Scheduler_is_opt_in()
    {
        var template = fixture.Template;
        var dts = template.ModuleDeclaring("Microsoft.DurableTask/schedulers");
        Assert.Equal("[parameters('enableDurableTaskScheduler')]", dts.Condition);
        var enable = template.Parameter("enableDurableTaskScheduler");
        Assert.Equal("bool", (string?)enable["type"]);
        Assert.False((bool)enable["defaultValue"]!);

        var sku = template.Parameter("durableTaskSchedulerSku");
        Assert.Equal(["Consumption", "Dedicated"], sku["allowedValues"]!.AsArray().Select(v => (string)v!).Order());

        var taskHub = dts.Single("Microsoft.DurableTask/schedulers/taskHubs");
        Assert.Contains("parameters('taskHubName')", (string)taskHub["name"]!, StringComparison.Ordinal);
        Assert.Equal("[variables('effectiveTaskHubName')]", dts.ParameterExpression("taskHubName"));
    }

    [Fact]
    public void Developer_access_is_optional_and_never_replaces_the_app_grant()
    {
        var foundry = fixture.Template.ModuleDeclaring("Microsoft.CognitiveServices/accounts");
        var developer = foundry.OfType("Microsoft.Authorization/roleAssignments")
            .Where(a => (string?)a["properties"]!["principalId"] == "[parameters('developerPrincipalId')]")
            .ToList();
        // Assert.All alone would pass if the developer grant were dropped altogether.
        Assert.Single(developer);
        Assert.All(developer, a => Assert.Equal("[not(empty(parameters('developerPrincipalId')))]", (string?)a["condition"]));
        Assert.Equal("[parameters('principalId')]", foundry.ParameterExpression("developerPrincipalId"));
        Assert.Equal("", (string?)fixture.Template.Parameter("principalId")["defaultValue"]);
    }
}
