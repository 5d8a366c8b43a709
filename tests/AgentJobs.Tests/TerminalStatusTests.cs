using AgentJobs.Contracts;
using AgentJobs.Tests.Support;

namespace AgentJobs.Tests;

/// <summary>Each terminal run status maps to its job outcome, with the service's words in the failure.</summary>
public class TerminalStatusTests
{
    static async Task<(WorkflowHost Host, AgentJobResult Result)> RunToAsync(ScriptStep final)
    {
        var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ => [ScriptStep.Of("in_progress"), final];
        return (host, await host.RunJobAsync(WorkflowHost.Job()));
    }

    [Theory]
    [InlineData("completed", JobOutcome.Completed)]
    [InlineData("failed", JobOutcome.Failed)]
    [InlineData("cancelled", JobOutcome.Cancelled)]
    [InlineData("expired", JobOutcome.Expired)]
    [InlineData("incomplete", JobOutcome.Incomplete)]
    public async Task A_terminal_status_maps_to_its_outcome(string status, JobOutcome outcome)
    {
        var (host, result) = await RunToAsync(ScriptStep.Of(status));
        await using (host)
        {
            Assert.Equal(outcome, result.Outcome);
            Assert.Equal(status, result.RunStatus);
            Assert.Equal(outcome == JobOutcome.Completed, result.Failure is null);
            host.AssertAgentCleanedUp(result);
        }
    }

    [Fact]
    public async Task A_failed_run_carries_the_services_error_code_and_message()
    {
        var (host, result) = await RunToAsync(ScriptStep.Failed("rate_limit_exceeded", "You exceeded your current quota."));
        await using (host)
        {
            Assert.Equal(JobOutcome.Failed, result.Outcome);
            Assert.Equal(new JobFailure("rate_limit_exceeded", "You exceeded your current quota."), result.Failure);
        }
    }

    [Fact]
    public async Task An_incomplete_run_says_why_it_stopped()
    {
        var (host, result) = await RunToAsync(ScriptStep.Of("incomplete"));
        await using (host)
        {
            Assert.Equal("incomplete", result.Failure!.Code);
            Assert.Contains("max_completion_tokens", result.Failure.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task An_unknown_status_maps_to_failed_without_hanging()
    {
        var (host, result) = await RunToAsync(ScriptStep.Of("teleported"));
        await using (host)
        {
            Assert.Equal(JobOutcome.Failed, result.Outcome);
            Assert.Equal("teleported", result.RunStatus);
            Assert.Contains("teleported", result.Failure!.Message, StringComparison.Ordinal);
            Assert.Equal(2, result.Polls);
            host.AssertAgentCleanedUp(result);
        }
    }
}
