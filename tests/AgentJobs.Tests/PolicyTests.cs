using AgentJobs.Application;
using AgentJobs.Configuration;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tests;

/// <summary>A job's policy is settled once, at the edge, from configuration, and recorded in the orchestration input.</summary>
public class PolicyTests
{
    [Fact]
    public async Task A_job_that_names_no_model_creates_its_agent_with_the_configured_model()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AgentService:Endpoint"] = "http://127.0.0.1:9/v1",
            ["AgentService:ApiKey"] = "not-a-secret",
            ["AgentService:Model"] = "gpt-5-mini",
        }).Build();

        // The host's real registration path (AddAgentJobs with configuration), with the scripted fake behind the port.
        await using var host = await WorkflowHost.StartAsync(services => services.AddAgentJobs(configuration));
        var result = await host.RunJobAsync(WorkflowHost.Job());

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal("gpt-5-mini", Assert.Single(host.Service.CreatedAgents.Values).Model);
    }

    [Fact]
    public async Task The_settled_request_is_the_orchestration_input()
    {
        await using var host = await WorkflowHost.StartAsync(services => services.AddSingleton(new AgentJobPolicy("deployment-a")));
        var id = await host.StartJobAsync(WorkflowHost.Job() with { Tools = null });
        var done = await host.WaitForEndAsync(id);

        var input = done.ReadInputAs<AgentJobSpec>()!;
        Assert.Equal("deployment-a", input.Model);
        Assert.Equal(AgentJobDefaults.AgentName, input.AgentName);
        Assert.Equal(AgentJobDefaults.Instructions, input.Instructions);
        Assert.Equal(AgentJobDefaults.MaxDurationSeconds, input.MaxDurationSeconds);
        Assert.NotNull(input.Tools);
        Assert.True(input.IsComplete);
    }

    /// <summary>
    /// In-flight orchestrations were scheduled with a settled <see cref="AgentJobRequest"/> as their input; after an
    /// upgrade they replay with <see cref="AgentJobSpec"/>, so that JSON must read as the same spec, and a spec must
    /// write the same JSON.
    /// </summary>
    [Fact]
    public void A_settled_requests_stored_json_reads_as_the_spec_and_the_spec_writes_the_same_json()
    {
        var limits = new AgentJobsApiOptions { StreamWindowSeconds = 7, MaxTotalTokensLimit = 5_000 };
        var request = new AgentJobRequest("hi", Tools: ["calculate"], ThreadId: "thread_1", Approval: new ApprovalPolicy(["calculate"]));
        var spec = new AgentJobPolicy("deployment-a", limits).Settle(request);

        // The settled request exactly as the policy wrote it before the spec existed.
        var stored = new AgentJobRequest(
            "hi", AgentJobDefaults.Instructions, "deployment-a", AgentJobDefaults.AgentName, ["calculate"], "thread_1", false,
            AgentJobDefaults.MaxDurationSeconds, PollingSettings.Default with { StreamWindowSeconds = 7 }, AgentJobDefaults.CancelGraceSeconds,
            AgentJobDefaults.MaxToolRounds, 5_000, new ApprovalPolicy(["calculate"], ApprovalPolicy.DefaultTimeoutSeconds, ApprovalTimeoutAction.Reject));

        foreach (var converter in new Microsoft.DurableTask.DataConverter[] { Microsoft.DurableTask.Converters.JsonDataConverter.Default, new Microsoft.DurableTask.Converters.JsonDataConverter(AgentJobsApi.JsonOptions) })
        {
            var json = converter.Serialize(stored)!;
            var read = converter.Deserialize<AgentJobSpec>(json)!;
            Assert.True(read.IsComplete);
            Assert.Equal(spec.Tools, read.Tools);
            Assert.Equal(spec.Approval!.Tools, read.Approval!.Tools);
            Assert.Equal(spec with { Tools = read.Tools, Approval = spec.Approval with { Tools = read.Approval.Tools } }, read);
            Assert.Equal(json, converter.Serialize(spec));
        }
    }

    [Fact]
    public void An_unsettled_requests_json_reads_as_an_incomplete_spec()
    {
        var json = Microsoft.DurableTask.Converters.JsonDataConverter.Default.Serialize(new AgentJobRequest("Hello"))!;
        var read = Microsoft.DurableTask.Converters.JsonDataConverter.Default.Deserialize<AgentJobSpec>(json)!;
        Assert.False(read.IsComplete);
        Assert.Equal("Hello", read.Prompt);
    }

    /// <summary>Every API limit is checked at startup, naming its setting.</summary>
    [Theory]
    [InlineData("MaxPromptLength", "0", "AgentJobs__MaxPromptLength must be 1 or more")]
    [InlineData("MaxInstructionsLength", "0", "AgentJobs__MaxInstructionsLength must be 1 or more")]
    [InlineData("MaxDurationSecondsLimit", "0", "AgentJobs__MaxDurationSecondsLimit must be 1 or more")]
    [InlineData("MaxToolRoundsLimit", "-1", "AgentJobs__MaxToolRoundsLimit must be 0 or more")]
    [InlineData("MaxSessionIdleSeconds", "0", "AgentJobs__MaxSessionIdleSeconds must be 1 or more")]
    [InlineData("MaxTotalTokensLimit", "0", "AgentJobs__MaxTotalTokensLimit must be 1 or more")]
    [InlineData("StreamWindowSeconds", "-1", "AgentJobs__StreamWindowSeconds must be between 0 and 120")]
    [InlineData("StreamWindowSeconds", "121", "AgentJobs__StreamWindowSeconds must be between 0 and 120")]
    [InlineData("StreamWindowSeconds", "ten", "AgentJobs__StreamWindowSeconds must be a whole number; got 'ten'")]
    [InlineData("StreamWindowSeconds", "0x10", "AgentJobs__StreamWindowSeconds must be a whole number; got '0x10'")]
    [InlineData("MaxPromptLength", "99999999999", "AgentJobs__MaxPromptLength must be a whole number; got '99999999999'")]
    public void A_limit_out_of_range_fails_at_startup_naming_its_setting(string name, string value, string message)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AgentService:Endpoint"] = "http://127.0.0.1:9/v1",
            ["AgentService:ApiKey"] = "not-a-secret",
            [$"AgentJobs:{name}"] = value,
        }).Build();

        var error = Assert.Throws<AgentServiceConfigurationException>(() => new ServiceCollection().AddAgentJobs(configuration));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_the_caller_names_is_kept()
    {
        var settled = new AgentJobPolicy("configured").Settle(new AgentJobRequest("hi", Model: "mine"));
        Assert.Equal("mine", settled.Model);
    }
}
