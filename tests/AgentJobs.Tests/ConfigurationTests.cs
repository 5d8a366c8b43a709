using AgentJobs.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tests;

/// <summary>AgentServiceEndpoint.Resolve: what each kind of setting resolves to, and errors that name the setting.</summary>
public class ConfigurationTests
{
    static AgentServiceEndpoint Resolve(string? endpoint = null, string? apiVersion = null, string? connectionString = null, string protocol = "classic") =>
        AgentServiceEndpoint.Resolve(new AgentServiceOptions
        {
            Endpoint = endpoint,
            ApiVersion = apiVersion,
            ProjectConnectionString = connectionString,
            Protocol = protocol,
        });

    static void AssertRejected(string setting, Func<object> resolve)
    {
        var ex = Assert.Throws<AgentServiceConfigurationException>(resolve);
        Assert.Contains(setting, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_project_endpoint_gets_api_version_v1_and_the_ai_scope()
    {
        var endpoint = Resolve("https://res.services.ai.azure.com/api/projects/proj/");

        Assert.Equal("v1", endpoint.ApiVersion);
        Assert.Equal(new Uri("https://res.services.ai.azure.com/api/projects/proj"), endpoint.BaseUri);
        Assert.Equal("https://ai.azure.com/.default", endpoint.TokenScope);
        Assert.True(endpoint.UsesAzureKeyHeader);
    }

    [Theory]
    [InlineData("https://api.openai.com/v1")]
    [InlineData("http://127.0.0.1:5110/v1")]
    [InlineData("http://localhost:5110/v1")]
    public void An_openai_style_endpoint_gets_no_api_version(string url)
    {
        var endpoint = AgentServiceEndpoint.Resolve(new AgentServiceOptions { Endpoint = url, ApiKey = "a-key" });

        Assert.Null(endpoint.ApiVersion);
        Assert.False(endpoint.UsesAzureKeyHeader);
    }

    [Fact]
    public void Plain_http_without_a_key_fails_at_startup_because_tokens_need_https()
    {
        var ex = Assert.Throws<AgentServiceConfigurationException>(() => Resolve("http://127.0.0.1:5110/v1"));

        Assert.Contains("AgentService:Endpoint", ex.Message);
        Assert.Contains("AgentService:ApiKey", ex.Message);
    }

    [Theory]
    [InlineData("none", null)]
    [InlineData("NONE", null)]
    [InlineData("2025-05-01", "2025-05-01")]
    public void An_explicit_api_version_wins(string setting, string? expected)
    {
        Assert.Equal(expected, Resolve("https://res.services.ai.azure.com/api/projects/proj", setting).ApiVersion);
    }

    [Fact]
    public void A_four_part_connection_string_resolves_to_the_hub_url_with_management_scope()
    {
        var endpoint = Resolve(connectionString: "eastus.api.azureml.ms;00000000-1111-2222-3333-444444444444;my-rg;my-project");

        Assert.Equal(
            "https://eastus.api.azureml.ms/agents/v1.0/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/my-rg/providers/Microsoft.MachineLearningServices/workspaces/my-project",
            endpoint.BaseUri.AbsoluteUri);
        Assert.Equal("https://management.azure.com/.default", endpoint.TokenScope);
        Assert.Equal("2024-07-01-preview", endpoint.ApiVersion);
        Assert.Equal(AgentProtocols.Classic, endpoint.Protocol);
    }

    [Fact]
    public void The_endpoint_wins_over_a_connection_string()
    {
        var endpoint = Resolve("https://api.openai.com/v1", connectionString: "eastus.api.azureml.ms;sub;rg;proj");

        Assert.Equal("api.openai.com", endpoint.BaseUri.Host);
    }

    [Theory]
    [InlineData("eastus.api.azureml.ms;sub;rg")]
    [InlineData("eastus.api.azureml.ms;sub;rg;proj;extra")]
    [InlineData("eastus.api.azureml.ms;;rg;proj")]
    [InlineData("eastus.api.azureml.ms/path;sub;rg;proj")]
    public void A_bad_connection_string_names_the_setting(string value)
    {
        AssertRejected(AgentServiceOptions.ConnectionStringSetting, () => Resolve(connectionString: value));
    }

    [Fact]
    public void A_connection_string_with_the_foundry_protocol_is_refused()
    {
        AssertRejected(AgentServiceOptions.ConnectionStringSetting, () => Resolve(connectionString: "h;s;r;p", protocol: AgentProtocols.Foundry));
    }

    [Fact]
    public void No_endpoint_at_all_names_both_settings()
    {
        var ex = Assert.Throws<AgentServiceConfigurationException>(() => Resolve());
        Assert.Contains("AgentService:Endpoint", ex.Message, StringComparison.Ordinal);
        Assert.Contains(AgentServiceOptions.ConnectionStringSetting, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://example.com/v1")]
    [InlineData("/relative/v1")]
    [InlineData("http://agents.example.com/v1")]
    public void A_bad_endpoint_names_the_setting(string url)
    {
        AssertRejected("AgentService:Endpoint", () => Resolve(url));
    }

    [Fact]
    public void An_invalid_protocol_names_the_setting()
    {
        AssertRejected("AgentService:Protocol", () => Resolve("https://api.openai.com/v1", protocol: "grpc"));
    }

    [Fact]
    public void A_missing_model_or_bad_timeout_names_the_setting()
    {
        AssertRejected("AgentService:Model", () => AgentServiceEndpoint.Resolve(new AgentServiceOptions { Endpoint = "https://api.openai.com/v1", Model = " " }));
        AssertRejected("AgentService:NetworkTimeoutSeconds", () => AgentServiceEndpoint.Resolve(new AgentServiceOptions { Endpoint = "https://api.openai.com/v1", NetworkTimeoutSeconds = 0 }));
    }

    [Fact]
    public void Startup_reads_the_legacy_connection_string_from_configuration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [AgentServiceOptions.ConnectionStringSetting] = "eastus.api.azureml.ms;sub;rg;proj" })
            .Build();

        var services = new ServiceCollection().AddAgentJobs(configuration);

        var endpoint = services.BuildServiceProvider().GetRequiredService<AgentServiceEndpoint>();
        Assert.Equal("eastus.api.azureml.ms", endpoint.BaseUri.Host);
    }

    [Fact]
    public void Startup_fails_with_the_setting_named_when_nothing_is_configured()
    {
        AssertRejected("AgentService:Endpoint", () => new ServiceCollection().AddAgentJobs(new ConfigurationBuilder().Build()));
    }
}
