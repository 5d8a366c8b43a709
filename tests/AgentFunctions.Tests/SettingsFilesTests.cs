using System.Text.Json;
using System.Text.RegularExpressions;
using AgentFunctions.Tests.Support;
using AgentJobs;
using AgentJobs.Application;
using AgentJobs.Configuration;
using AgentJobs.Http;
using Microsoft.Extensions.Configuration;

namespace AgentFunctions.Tests;

/// <summary>host.json and local.settings.sample.json at the repository root.</summary>
public class SettingsFilesTests
{
    /// <summary>The AgentService__* settings the app reads and the sample must show.</summary>
    static readonly string[] AgentServiceSettings =
    [
        "AgentService__Protocol", "AgentService__Endpoint", "AgentService__ApiKey", "AgentService__ApiVersion", "AgentService__Model",
    ];

    static JsonElement Read(string file)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(RepoFiles.At(file)));
        return document.RootElement.Clone();
    }

    static Dictionary<string, string?> SampleValues() =>
        Read("local.settings.sample.json").GetProperty("Values").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());

    [Fact]
    public void Host_json_uses_the_task_hub_setting_and_azure_storage()
    {
        var host = Read("host.json");
        Assert.Equal("2.0", host.GetProperty("version").GetString());
        var durable = host.GetProperty("extensions").GetProperty("durableTask");
        Assert.Equal("%TaskHubName%", durable.GetProperty("hubName").GetString());
        Assert.Equal("AzureStorage", durable.GetProperty("storageProvider").GetProperty("type").GetString());
        Assert.Equal("api", host.GetProperty("extensions").GetProperty("http").GetProperty("routePrefix").GetString());
        Assert.False(host.TryGetProperty("extensionBundle", out _), "Isolated-worker apps get extensions from the build, not a bundle.");
    }

    [Fact]
    public void Host_json_leaves_durable_distributed_tracing_to_the_deployment()
    {
        // Off locally (version None), where there is no Application Insights: with V2 the Durable extension warns on
        // every start that no connection string is set, and with tracing disabled it asks for V2 or None. infra/ turns
        // V2 on through app settings (AzureFunctionsJobHost__extensions__durableTask__tracing__*); the real-host log
        // test checks the effect. Host settings bind ignoring case.
        var tracing = Read("host.json").GetProperty("extensions").GetProperty("durableTask").GetProperty("tracing");
        var settings = tracing.EnumerateObject().ToDictionary(p => p.Name, p => p.Value, StringComparer.OrdinalIgnoreCase);

        Assert.True(settings["DistributedTracingEnabled"].GetBoolean());
        Assert.Equal("None", settings["Version"].GetString());
        Assert.False(settings["traceInputsAndOutputs"].GetBoolean()); // prompts and replies stay out of telemetry
    }

    [Fact]
    public void Host_json_sets_log_levels_and_opentelemetry_mode()
    {
        var host = Read("host.json");
        Assert.Equal("OpenTelemetry", host.GetProperty("telemetryMode").GetString()); // the host's telemetry joins the worker's traces
        var logging = host.GetProperty("logging");
        var levels = logging.GetProperty("logLevel");
        Assert.Equal("Information", levels.GetProperty("default").GetString());
        Assert.Equal("Information", levels.GetProperty("Function").GetString());
        Assert.Equal("Information", levels.GetProperty("Host.Results").GetString());
        Assert.False(logging.TryGetProperty("applicationInsights", out _)); // classic Application Insights settings do not apply in OpenTelemetry mode
    }

    [Fact]
    public void Sample_has_the_local_runtime_settings()
    {
        var sample = Read("local.settings.sample.json");
        Assert.False(sample.GetProperty("IsEncrypted").GetBoolean());
        var values = SampleValues();
        Assert.Equal("UseDevelopmentStorage=true", values["AzureWebJobsStorage"]);
        Assert.Equal("dotnet-isolated", values["FUNCTIONS_WORKER_RUNTIME"]);

        // Azure Storage task hub names: 3-45 letters and digits, starting with a letter.
        Assert.Matches(new Regex("^[A-Za-z][A-Za-z0-9]{2,44}$"), values["TaskHubName"]);
    }

    [Fact]
    public void Sample_shows_every_agent_service_setting_the_app_reads_and_no_unknown_one()
    {
        var values = SampleValues();
        foreach (var setting in AgentServiceSettings)
        {
            Assert.True(values.ContainsKey(setting), $"local.settings.sample.json lacks {setting}.");
        }

        var known = typeof(AgentServiceOptions).GetProperties().Select(p => $"{AgentServiceOptions.SectionName}__{p.Name}").ToHashSet(StringComparer.OrdinalIgnoreCase);
        Assert.All(values.Keys.Where(k => k.StartsWith("AgentService__", StringComparison.OrdinalIgnoreCase)), k => Assert.Contains(k, known));
        Assert.Equal("classic", values["AgentService__Protocol"]);
        Assert.Equal("http://127.0.0.1:5110/v1", values["AgentService__Endpoint"]);
        Assert.Equal("gpt-4o-mini", values["AgentService__Model"]);
        Assert.Equal("32000", values["AgentJobs__MaxPromptLength"]);
    }

    [Fact]
    public void Sample_holds_no_real_secret()
    {
        var values = SampleValues();
        Assert.True(!values.TryGetValue(AgentServiceOptions.ConnectionStringSetting, out var connection) || string.IsNullOrEmpty(connection));
        Assert.Equal("local-dev-key", values["AgentService__ApiKey"]);
        foreach (var (name, value) in values)
        {
            Assert.DoesNotContain("AccountKey=", value ?? "", StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("SharedAccessSignature", value ?? "", StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain("InstrumentationKey=", value ?? "", StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotMatch(new Regex("^(sk-|eyJ)"), value ?? "");
            Assert.False(value is { Length: >= 32 } && Regex.IsMatch(value, "^[A-Za-z0-9+/=_-]+$"), $"{name} looks like a real key.");
        }
    }

    [Fact]
    public void Sample_settings_resolve_to_the_local_agent_service()
    {
        var configuration = RepoFiles.SampleConfiguration();
        var options = new AgentServiceOptions();
        configuration.GetSection(AgentServiceOptions.SectionName).Bind(options);
        var endpoint = AgentServiceEndpoint.Resolve(options);

        Assert.Equal(AgentProtocols.Classic, endpoint.Protocol);
        Assert.Equal(new Uri("http://127.0.0.1:5110/v1"), endpoint.BaseUri);
        Assert.Equal("local-dev-key", endpoint.ApiKey);
        Assert.Null(endpoint.ApiVersion);
        Assert.Equal("gpt-4o-mini", endpoint.DefaultModel);

        var api = new AgentJobsApiOptions();
        configuration.GetSection(AgentJobsApiOptions.SectionName).Bind(api);
        Assert.Equal(32_000, api.MaxPromptLength);
    }
}
