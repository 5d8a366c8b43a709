using System.Text.Json;
using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Tests.Support;
using AgentJobs.Tools;

namespace AgentJobs.Tests;

/// <summary>requires_action: a batch of tool calls runs in parallel and is answered in one submission.</summary>
public class ToolCallTests
{
    static ToolCallRequest Call(string id, string name, string arguments = "{}") => new(id, name, arguments);

    static IReadOnlyList<ToolOutput> OnlySubmission(WorkflowHost host)
    {
        Assert.Equal(1, host.Service.Count("SubmitToolOutputs"));
        return Assert.Single(Assert.Single(host.Service.Submissions).Value);
    }

    [Fact]
    public async Task A_batch_of_tool_calls_runs_in_parallel_and_is_submitted_in_one_call()
    {
        const int N = 4;
        var rendezvous = new Rendezvous(N, TimeSpan.FromSeconds(10));
        await using var host = await WorkflowHost.StartAsync(services =>
            services.AddAgentTool("rendezvous", "Waits for its siblings.", (string who) => rendezvous.ArriveAsync(who)));
        var calls = Enumerable.Range(1, N).Select(i => Call($"call_{i}", "rendezvous", $$"""{"who":"w{{i}}"}""")).ToArray();
        host.Service.Script = _ => [ScriptStep.Tools(calls), ScriptStep.Of("in_progress"), ScriptStep.Of("completed")];

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = ["rendezvous"] });

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(N, result.ToolCalls);
        Assert.Equal(N, rendezvous.MaxInside);
        var outputs = OnlySubmission(host);
        Assert.Equal(calls.Select(c => c.Id), outputs.Select(o => o.ToolCallId));
        Assert.All(outputs, o => Assert.False(o.IsError, o.Output));
        Assert.Equal(calls.Select((_, i) => $"met:w{i + 1}"), outputs.Select(o => o.Output));
    }

    [Fact]
    public async Task An_unknown_tool_and_a_throwing_tool_become_error_outputs_and_the_job_still_completes()
    {
        await using var host = await WorkflowHost.StartAsync(services =>
            services.AddAgentTool("explode", "Always fails.", string () => throw new InvalidOperationException("kaboom")));
        host.Service.Script = _ =>
        [
            ScriptStep.Tools(Call("call_unknown", "no_such_tool"), Call("call_throw", "explode"), Call("call_ok", BuiltInTools.CalculateName, """{"expression":"1+1"}""")),
            ScriptStep.Of("completed"),
        ];

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = ["explode", BuiltInTools.CalculateName] });

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(3, result.ToolCalls);
        var outputs = OnlySubmission(host).ToDictionary(o => o.ToolCallId);
        Assert.True(outputs["call_unknown"].IsError);
        Assert.Contains("no_such_tool", ErrorOf(outputs["call_unknown"]), StringComparison.Ordinal);
        Assert.True(outputs["call_throw"].IsError);
        Assert.Contains("kaboom", ErrorOf(outputs["call_throw"]), StringComparison.Ordinal);
        Assert.False(outputs["call_ok"].IsError);
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task The_built_in_calculate_tool_output_reaches_the_reply()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ =>
        [
            ScriptStep.Of("in_progress"),
            ScriptStep.Tools(Call("call_calc", BuiltInTools.CalculateName, """{"expression":"2^10 + 7"}""")),
            ScriptStep.Of("completed"),
        ];

        var result = await host.RunJobAsync(WorkflowHost.Job("What is 2^10 + 7?") with { Tools = [BuiltInTools.CalculateName] });

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(1, result.ToolCalls);
        Assert.Contains("1031", result.Reply, StringComparison.Ordinal);
        var agent = Assert.Single(host.Service.CreatedAgents.Values);
        Assert.Equal(BuiltInTools.CalculateName, Assert.Single(agent.Tools).Name);
    }

    [Fact]
    public async Task Two_rounds_of_tool_calls_are_each_submitted_once()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ =>
        [
            ScriptStep.Tools(Call("call_a", BuiltInTools.CalculateName, """{"expression":"6*7"}""")),
            ScriptStep.Tools(Call("call_b", BuiltInTools.UtcNowName), Call("call_c", BuiltInTools.CalculateName, """{"expression":"1/0"}""")),
            ScriptStep.Of("completed"),
        ];

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = [BuiltInTools.CalculateName, BuiltInTools.UtcNowName] });

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(3, result.ToolCalls);
        var rounds = Assert.Single(host.Service.Submissions).Value;
        Assert.Equal([1, 2], rounds.Select(r => r.Count));
        Assert.True(rounds[1].Single(o => o.ToolCallId == "call_c").IsError);
    }

    static string ErrorOf(ToolOutput output)
    {
        using var json = JsonDocument.Parse(output.Output);
        return json.RootElement.GetProperty("error").GetString()!;
    }
}
