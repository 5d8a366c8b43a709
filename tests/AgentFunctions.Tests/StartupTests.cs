using AgentFunctions.Tests.Support;
using AgentJobs.AgentService;
using AgentJobs.AgentService.Classic;
using AgentJobs.Application;
using AgentJobs.Configuration;
using AgentJobs.Http;
using AgentJobs.Workflow;
using Azure.Identity;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AgentFunctions.Tests;

/// <summary>Program's service registration (<see cref="AgentFunctionsStartup.ConfigureServices"/>) and its startup validation.</summary>
public class StartupTests
{
    static IConfiguration Settings(params (string Key, string? Value)[] overrides)
    {
        var values = RepoFiles.SampleConfiguration().AsEnumerable().ToDictionary(p => p.Key, p => p.Value);
        foreach (var (key, value) in overrides)
        {
            values[key] = value;
        }

        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    [Fact]
    public void Missing_endpoint_fails_at_startup_naming_the_setting()
    {
        var ex = Assert.Throws<AgentServiceConfigurationException>(() =>
            AgentFunctionsStartup.ConfigureServices(new ServiceCollection(), Settings(("AgentService:Endpoint", null))));
        Assert.Contains("AgentService__Endpoint", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("AgentService:Protocol", "grpc", "AgentService:Protocol")]
    [InlineData("AgentService:Endpoint", "not a url", "AgentService:Endpoint")]
    [InlineData("AgentService:Endpoint", "http://agents.example.com/v1", "AgentService:Endpoint")]
    [InlineData("AgentService:Model", " ", "AgentService:Model")]
    public void Bad_setting_fails_at_startup_naming_it(string key, string value, string named)
    {
        var ex = Assert.Throws<AgentServiceConfigurationException>(() =>
            AgentFunctionsStartup.ConfigureServices(new ServiceCollection(), Settings((key, value))));
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_functions_builder_fails_the_same_way_before_the_host_is_built()
    {
        // Exactly Program's sequence, with the endpoint setting left out of the builder's configuration.
        var builder = FunctionsApplication.CreateBuilder([]);
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(Settings(("AgentService:Endpoint", null)).AsEnumerable());
        var ex = Assert.Throws<AgentServiceConfigurationException>(() => AgentFunctionsStartup.ConfigureServices(builder.Services, builder.Configuration));
        Assert.Contains("AgentService__Endpoint", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Valid_settings_register_the_classic_adapter_the_api_the_activities_and_telemetry()
    {
        // A host always provides IConfiguration and logging; the telemetry setup reads the former.
        var settings = Settings();
        var services = AgentFunctionsStartup.ConfigureServices(new ServiceCollection().AddLogging().AddSingleton(settings), settings);
        await using var provider = services.BuildServiceProvider();

        Assert.IsType<ClassicAgentService>(provider.GetRequiredService<IAgentService>());
        Assert.NotNull(provider.GetRequiredService<AgentJobsApi>());
        Assert.NotNull(provider.GetRequiredService<AgentJobActivities>());
        Assert.Equal(32_000, provider.GetRequiredService<AgentJobsApiOptions>().MaxPromptLength);
        Assert.NotNull(provider.GetRequiredService<TracerProvider>());
        Assert.NotNull(provider.GetRequiredService<MeterProvider>());
        Assert.NotNull(ActivatorUtilities.CreateInstance<HttpFunctions>(provider));
        Assert.NotNull(ActivatorUtilities.CreateInstance<ActivityFunctions>(provider));
    }

    [Fact]
    public void In_Development_the_worker_builds_its_whole_container_and_every_function_class()
    {
        // Program's sequence in Development, where func start runs the worker: the builder validates every registered
        // service when it builds (as the worker does before it serves anything). A DurableTaskClient only arrives
        // through [DurableClient], never from the container, so nothing registered may need one. The real-host suites
        // find this too; this finds it in a second.
        var builder = FunctionsApplication.CreateBuilder([]);
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(Settings().AsEnumerable());
        builder.ConfigureFunctionsWebApplication();
        AgentFunctionsStartup.ConfigureServices(builder.Services, builder.Configuration);
        builder.ConfigureContainer(new DefaultServiceProviderFactory(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true })); // what Development turns on
        Assert.DoesNotContain(builder.Services, d => d.ServiceType == typeof(Microsoft.DurableTask.Client.DurableTaskClient));

        using var host = builder.Build();

        var functionClasses = typeof(HttpFunctions).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && t.GetMethods().Any(m => m.IsDefined(typeof(Microsoft.Azure.Functions.Worker.FunctionAttribute), false)))
            .ToList();
        Assert.True(functionClasses.Count >= 8, $"found {functionClasses.Count} function classes");
        foreach (var type in functionClasses)
        {
            Assert.NotNull(ActivatorUtilities.CreateInstance(host.Services, type)); // as the worker creates them, per invocation
        }
    }

    [Fact]
    public async Task With_a_connection_string_telemetry_goes_to_azure_monitor_and_no_classic_sdk_is_registered()
    {
        var settings = Settings(
            (AzureMonitorSettings.ConnectionStringSetting, "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/"),
            (AzureMonitorSettings.AuthenticationStringSetting, "ClientId=11111111-1111-1111-1111-111111111111;Authorization=AAD"));
        var services = AgentFunctionsStartup.ConfigureServices(new ServiceCollection().AddLogging().AddSingleton(settings), settings);
        await using var provider = services.BuildServiceProvider();

        Assert.NotNull(provider.GetRequiredService<TracerProvider>());
        Assert.DoesNotContain(services, d => d.ServiceType.FullName?.StartsWith("Microsoft.ApplicationInsights", StringComparison.Ordinal) == true);
        Assert.DoesNotContain(AppDomain.CurrentDomain.GetAssemblies(), a => a.GetName().Name == "Microsoft.ApplicationInsights");
    }

    [Theory]
    [InlineData("ClientId=11111111-1111-1111-1111-111111111111;Authorization=AAD", true)]
    [InlineData("Authorization=AAD", true)]
    [InlineData(" authorization = aad ; clientid = 2 ", true)]
    [InlineData("", false)]
    [InlineData(null, false)]
    [InlineData("ClientId=1", false)]
    public void The_authentication_string_becomes_a_managed_identity_credential(string? authenticationString, bool entra)
    {
        var credential = AzureMonitorSettings.Credential(authenticationString);

        if (entra)
        {
            Assert.IsType<ManagedIdentityCredential>(credential);
        }
        else
        {
            Assert.Null(credential);
        }
    }
}
