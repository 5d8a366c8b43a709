using AgentJobs.AgentService;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tests;

/// <summary>Budgets stop a job that uses too many tool rounds or tokens, and the agent is still deleted.</summary>
public class BudgetTests
{
    static ScriptStep Round(int n, int tokensSoFar = 0) =>
        new("requires_action", [new ToolCallRequest($"call_{n}", "calculate", """{"expression":"1+1"}""")], Usage: tokensSoFar > 0 ? new TokenUsage(tokensSoFar, 0, tokensSoFar) : null);

    // An agent that asks for a tool round after every answer, for ever.
    static IReadOnlyList<ScriptStep> ToolsForever(string prompt) => [.. Enumerable.Range(1, 1_000).Select(n => Round(n))];

    [Fact]
    public async Task An_agent_that_keeps_calling_tools_stops_at_the_round_budget_not_the_deadline()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = ToolsForever;

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = ["calculate"], MaxToolRounds = 3, MaxDurationSeconds = 3600 });

        Assert.Equal(JobOutcome.BudgetExceeded, result.Outcome);
        Assert.Equal("budget_exceeded", result.Failure!.Code);
        Assert.Contains("maxToolRounds", result.Failure.Message, StringComparison.Ordinal);
        Assert.Contains("tool round 4", result.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(3, host.Service.Count("SubmitToolOutputs"));
        Assert.Equal(3, result.ToolCalls);
        Assert.Equal(StopReason.BudgetExceeded, result.Stop!.Reason);
        Assert.Equal(1, host.Service.Count("CancelRun"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task The_default_round_budget_is_sixteen()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = ToolsForever;

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = ["calculate"] });

        Assert.Equal(JobOutcome.BudgetExceeded, result.Outcome);
        Assert.Equal(AgentJobDefaults.MaxToolRounds, host.Service.Count("SubmitToolOutputs"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_run_that_goes_over_the_token_budget_is_stopped_with_the_figures()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ => [Round(1, 100), Round(2, 200), Round(3, 300), Round(4, 400), ScriptStep.Of("completed")];

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = ["calculate"], MaxTotalTokens = 250 });

        Assert.Equal(JobOutcome.BudgetExceeded, result.Outcome);
        Assert.Contains("maxTotalTokens", result.Failure!.Message, StringComparison.Ordinal);
        Assert.Contains("300 tokens", result.Failure.Message, StringComparison.Ordinal);
        Assert.Contains("budget is 250", result.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(2, host.Service.Count("SubmitToolOutputs"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_server_token_limit_is_the_budget_of_jobs_that_set_none()
    {
        await using var host = await WorkflowHost.StartAsync(services =>
            services.AddSingleton(new AgentJobPolicy("gpt-4o-mini", new AgentJobsApiOptions { MaxTotalTokensLimit = 150 })));
        host.Service.Script = _ => [Round(1, 100), Round(2, 200), ScriptStep.Of("completed")];

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = ["calculate"] });

        Assert.Equal(JobOutcome.BudgetExceeded, result.Outcome);
        Assert.Contains("budget is 150", result.Failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_batch_takes_the_same_budgets_and_hands_them_to_every_item()
    {
        await using var host = await WorkflowHost.StartAsync();
        var api = host.Services.GetRequiredService<AgentJobs.Batches.AgentBatchesApi>();

        var (batch, problem) = api.Parse("""{"prompts": ["a", "b"], "maxToolRounds": 2, "maxTotalTokens": 100}"""u8);

        Assert.Null(problem);
        Assert.Equal(2, batch!.Item("a").MaxToolRounds);
        Assert.Equal(100, batch.Item("b").MaxTotalTokens);
        Assert.Equal("maxToolRounds", api.Parse("""{"prompts": ["a"], "maxToolRounds": -1}"""u8).Problem?.Field);
    }

    [Theory]
    [InlineData(-1, null, "maxToolRounds")]
    [InlineData(257, null, "maxToolRounds")]
    [InlineData(null, 0L, "maxTotalTokens")]
    public void Budgets_outside_the_server_limits_are_rejected_naming_the_field(int? rounds, long? tokens, string field)
    {
        var validator = new AgentJobRequestValidator(new AgentJobsApiOptions(), new AgentJobs.Tools.AgentToolRegistry([], null!));
        var problem = validator.Validate(new AgentJobRequest("hi", MaxToolRounds: rounds, MaxTotalTokens: tokens));
        Assert.Equal(field, problem?.Field);
    }
}
