namespace Infra.Tests;

/// <summary>No keys, SAS tokens or shared-key access anywhere: every resource is reached with Entra ID.</summary>
public sealed class KeylessTests(TemplateFixture fixture)
{
    public static TheoryData<string> ForbiddenTokens =>
    [
        "listKeys",
        "listAccountSas",
        "listServiceSas",
        "AccountKey",
        "primaryKey",
        "secondaryKey",
        "SharedAccessSignature",
        "SharedAccessKey",
        "ApiKey",
        "INSTRUMENTATIONKEY",
    ];

    [Theory]
    [MemberData(nameof(ForbiddenTokens))]
    public void Compiled_template_never_mentions(string token) =>
        Assert.DoesNotContain(token, fixture.Template.Text, StringComparison.OrdinalIgnoreCase);

    [Theory]
    [MemberData(nameof(ForbiddenTokens))]
    public void Bicep_sources_never_mention(string token)
    {
        foreach (var file in RepoPaths.BicepFiles)
        {
            Assert.False(File.ReadAllText(file).Contains(token, StringComparison.OrdinalIgnoreCase),
                $"{Path.GetRelativePath(RepoPaths.Root, file)} mentions '{token}'");
        }
    }

    [Fact]
    public void Storage_account_refuses_shared_keys_and_public_blobs()
    {
        var storage = fixture.Template.ModuleDeclaring("Microsoft.Storage/storageAccounts");
        var properties = storage.Single("Microsoft.Storage/storageAccounts")["properties"]!;
        Assert.False((bool)properties["allowSharedKeyAccess"]!);
        Assert.False((bool)properties["allowBlobPublicAccess"]!);
        Assert.Equal("TLS1_2", (string?)properties["minimumTlsVersion"]);
        Assert.True((bool)properties["supportsHttpsTrafficOnly"]!);
        Assert.True((bool)properties["defaultToOAuthAuthentication"]!);

        var container = storage.Single("Microsoft.Storage/storageAccounts/blobServices/containers");
        Assert.Equal("None", (string?)container["properties"]!["publicAccess"]);
    }

    [Fact]
    public void Application_Insights_and_Log_Analytics_disable_local_auth()
    {
        var monitoring = fixture.Template.ModuleDeclaring("Microsoft.Insights/components");
        Assert.True((bool)monitoring.Single("Microsoft.Insights/components")["properties"]!["DisableLocalAuth"]!);
        Assert.True((bool)monitoring.Single("Microsoft.OperationalInsights/workspaces")["properties"]!["features"]!["disableLocalAuth"]!);
    }

    [Fact]
    public void Foundry_account_disables_local_auth()
    {
        var foundry = fixture.Template.ModuleDeclaring("Microsoft.CognitiveServices/accounts");
        Assert.True((bool)foundry.Single("Microsoft.CognitiveServices/accounts")["properties"]!["disableLocalAuth"]!);
    }

    [Fact]
    public void Outputs_carry_no_secrets()
    {
        var outputs = fixture.Template.Root["outputs"]!.AsObject();
        Assert.All(outputs, o => Assert.NotEqual("securestring", (string?)o.Value!["type"], StringComparer.OrdinalIgnoreCase));
        Assert.DoesNotContain(outputs, o => o.Key.Contains("KEY", StringComparison.OrdinalIgnoreCase)
            || o.Key.Contains("SECRET", StringComparison.OrdinalIgnoreCase)
            || o.Key.Contains("PASSWORD", StringComparison.OrdinalIgnoreCase));
    }
}
