using AgentJobs.Hosting;
using Microsoft.Extensions.Configuration;

namespace AgentFunctions.Local.Tests;

/// <summary>Defaults and settings the README promises for the local host, without starting it.</summary>
public class HostOptionsTests
{
    [Fact]
    public void Serve_listens_on_127_0_0_1_unless_urls_says_otherwise()
    {
        var defaults = Cli.Build().Parse(["serve"]);
        var given = Cli.Build().Parse(["serve", "--urls", "http://0.0.0.0:8080"]);

        Assert.Empty(defaults.Errors);
        Assert.Equal("http://127.0.0.1:7071", defaults.GetValue<string>("--urls"));
        Assert.Equal("http://127.0.0.1:7071", new LocalHostOptions().Urls);
        Assert.Equal("http://0.0.0.0:8080", given.GetValue<string>("--urls"));
    }

    [Fact]
    public void The_backend_is_in_memory_by_default_with_the_AgentJobsLocal_task_hub()
    {
        var backend = new LocalHostOptions().Backend(Configuration());

        Assert.False(backend.UsesStorage);
        Assert.Equal("AgentJobsLocal", backend.TaskHub);
        Assert.Equal("in-memory", backend.Describe());
    }

    [Fact]
    public void Durable_settings_select_storage_and_the_task_hub_and_options_win_over_them()
    {
        var configuration = Configuration(("Durable:Storage", "UseDevelopmentStorage=true"), ("Durable:TaskHub", "FromSettings"));

        var fromSettings = new LocalHostOptions().Backend(configuration);
        var fromOptions = new LocalHostOptions { TaskHub = "FromOption" }.Backend(configuration);

        Assert.True(fromSettings.UsesStorage);
        Assert.Equal("UseDevelopmentStorage=true", fromSettings.StorageConnectionString);
        Assert.Equal("FromSettings", fromSettings.TaskHub);
        Assert.Equal("FromOption", fromOptions.TaskHub);
    }

    [Fact]
    public void The_backend_description_never_contains_the_connection_string()
    {
        const string key = "c2VjcmV0LWtleS1ub3QtdG8tYmUtcHJpbnRlZA==";
        var backend = new LocalHostOptions { Storage = $"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={key}" }.Backend(Configuration());

        Assert.DoesNotContain(key, backend.Describe(), StringComparison.Ordinal);
        Assert.DoesNotContain("acct", backend.Describe(), StringComparison.Ordinal);
    }

    static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => KeyValuePair.Create(v.Key, (string?)v.Value))).Build();
}
