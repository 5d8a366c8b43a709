using System.Text.Json;
using LocalAgentService.Engine;
using OpenAI.Assistants;

namespace LocalAgentService.Tests;

/// <summary>Function tool round trips: requires_action, parallel calls, outputs, steps and the quoting answer.</summary>
public sealed class ToolCallTests(FastServer fixture) : IClassFixture<FastServer>
{
    [Theory]
    [InlineData(Shape.OpenAI)]
    [InlineData(Shape.Azure)]
    [InlineData(Shape.Project)]
    public async Task Named_tools_are_called_in_parallel_and_outputs_are_quoted(Shape shape)
    {
        var client = Support.Client(fixture.Server, shape);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini", new AssistantCreationOptions
        {
            Tools = { Support.Function("get_weather"), Support.Function("get_time"), Support.Function("unused_tool") },
        })).Value;
        var thread = (await client.CreateThreadAsync()).Value;
        await client.CreateMessageAsync(thread.Id, MessageRole.User, [MessageContent.FromText("""Use get_time and get_weather for {"city": "Paris"} please""")]);

        var run = await Support.WaitAsync(client, (await client.CreateRunAsync(thread.Id, agent.Id)).Value);
        Assert.Equal(RunStatus.RequiresAction, run.Status);
        Assert.Equal(2, run.RequiredActions.Count);
        Assert.Equal(["get_time", "get_weather"], run.RequiredActions.Select(a => a.FunctionName));
        Assert.All(run.RequiredActions, a =>
        {
            Assert.StartsWith("call_", a.ToolCallId);
            Assert.Equal("Paris", JsonDocument.Parse(a.FunctionArguments).RootElement.GetProperty("city").GetString());
        });

        // The thread is locked while the run waits for outputs.
        var locked = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() =>
            client.CreateMessageAsync(thread.Id, MessageRole.User, [MessageContent.FromText("more")]));
        Assert.Equal(400, locked.Status);

        run = (await client.SubmitToolOutputsToRunAsync(thread.Id, run.Id,
            run.RequiredActions.Select(a => new ToolOutput(a.ToolCallId, a.FunctionName == "get_time" ? "12:00" : "sunny, 21C")))).Value;
        Assert.Equal(RunStatus.Queued, run.Status);
        run = await Support.WaitAsync(client, run);
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.NotNull(run.Usage);

        var answer = await LatestTextAsync(client, thread.Id, run.Id);
        Assert.Equal("[simulated gpt-4o-mini] Based on the tool results: get_time returned \"12:00\"; get_weather returned \"sunny, 21C\".", answer);

        var steps = new List<RunStep>();
        await foreach (var step in client.GetRunStepsAsync(thread.Id, run.Id, new RunStepCollectionOptions { Order = RunStepCollectionOrder.Ascending }))
        {
            steps.Add(step);
        }

        Assert.Equal(2, steps.Count);
        Assert.Equal(RunStepKind.ToolCall, steps[0].Kind);
        Assert.Equal(RunStepStatus.Completed, steps[0].Status);
        Assert.Equal(["12:00", "sunny, 21C"], steps[0].Details.ToolCalls.Select(c => c.FunctionOutput));
        Assert.Equal(RunStepKind.CreatedMessage, steps[1].Kind);
        var step1 = (await client.GetRunStepAsync(thread.Id, run.Id, steps[1].Id)).Value;
        Assert.StartsWith("step_", step1.Id);
        Assert.StartsWith("msg_", step1.Details.CreatedMessageId);
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task Without_parallel_calls_only_the_first_named_tool_is_called_with_schema_defaults()
    {
        var client = Support.Client(fixture.Server, Shape.OpenAI);
        var schema = """{"type":"object","properties":{"q":{"type":"string"},"n":{"type":"integer"},"flag":{"type":"boolean"},"tags":{"type":"array"},"mode":{"enum":["fast","slow"]},"opt":{"type":"string"}},"required":["q","n","flag","tags","mode"]}""";
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini", new AssistantCreationOptions { Tools = { Support.Function("search", schema), Support.Function("other") } })).Value;
        var thread = (await client.CreateThreadAsync(new ThreadCreationOptions { InitialMessages = { "run search then other" } })).Value;
        var run = await Support.WaitAsync(client, (await client.CreateRunAsync(thread.Id, agent.Id, new RunCreationOptions { AllowParallelToolCalls = false })).Value);
        var call = Assert.Single(run.RequiredActions);
        Assert.Equal("search", call.FunctionName);
        Assert.Equal("""{"q":"","n":0,"flag":false,"tags":[],"mode":"fast"}""", call.FunctionArguments);

        // A partial name ("searching") is no match: word-boundary rule.
        Assert.Empty(NamedCalls("searching for others", "search", "other"));
        await client.CancelRunAsync(thread.Id, run.Id);
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public void First_json_object_is_extracted_and_schema_defaults_are_minimal()
    {
        Assert.Equal("""{"a":{"b":[1,2]}}""", SimulatedModel.FirstJsonObject("""text {not json} then {"a": {"b": [1, 2]}} and {"c":1}"""));
        Assert.Null(SimulatedModel.FirstJsonObject("no object here { nope"));
        Assert.Equal("""{"a":1}""", SimulatedModel.FirstJsonObject("""Grüße aus Zürich {"a": 1}"""));
        Assert.Equal("{}", SimulatedModel.MinimalArguments(null));
        var nested = JsonDocument.Parse("""{"type":"object","properties":{"o":{"type":"object","properties":{"x":{"type":["null","number"]}},"required":["x"]}},"required":["o","missing"]}""").RootElement;
        Assert.Equal("""{"o":{"x":0},"missing":""}""", SimulatedModel.MinimalArguments(nested));
    }

    [Fact]
    public async Task Submitting_wrong_tool_outputs_is_a_400_and_the_run_keeps_waiting()
    {
        var client = Support.Client(fixture.Server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini", new AssistantCreationOptions { Tools = { Support.Function("lookup") } })).Value;
        var run = await Support.WaitAsync(client, (await client.CreateThreadAndRunAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "lookup" } })).Value);
        Assert.Equal(RunStatus.RequiresAction, run.Status);
        string pending = Assert.Single(run.RequiredActions).ToolCallId;
        var ex = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() =>
            client.SubmitToolOutputsToRunAsync(run.ThreadId, run.Id, [new ToolOutput(pending, "x"), new ToolOutput("call_unknown", "x")]));
        Assert.Equal(400, ex.Status);
        Assert.Contains("Unknown tool call id 'call_unknown'", ex.Message);
        Assert.Contains($"Expected tool outputs for call_ids [{pending}], got [{pending}, call_unknown]", ex.Message);

        ex = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() =>
            client.SubmitToolOutputsToRunAsync(run.ThreadId, run.Id, [new ToolOutput(pending, "x"), new ToolOutput(pending, "y")]));
        Assert.Equal(400, ex.Status);
        Assert.Contains($"Tool output for call_id '{pending}' was given more than once", ex.Message);

        ex = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() =>
            client.SubmitToolOutputsToRunAsync(run.ThreadId, run.Id, []));
        Assert.Equal(400, ex.Status);
        Assert.Contains($"Missing tool output for call_id '{pending}'", ex.Message);
        Assert.Equal(RunStatus.RequiresAction, (await client.GetRunAsync(run.ThreadId, run.Id)).Value.Status);
        await client.DeleteAssistantAsync(agent.Id);
    }

    private static IReadOnlyList<ModelToolCall> NamedCalls(string text, params string[] tools)
    {
        var request = new ModelRequest("m", null, tools.Select(t => new ModelTool(t, null, null)).ToList(), [new ModelTurn("user", text)], true);
        return new SimulatedModel().GenerateAsync(request, CancellationToken.None).Result.ToolCalls;
    }

    internal static async Task<string> LatestTextAsync(AssistantClient client, string threadId, string runId)
    {
        await foreach (var m in client.GetMessagesAsync(threadId, new MessageCollectionOptions { Order = MessageCollectionOrder.Descending }))
        {
            Assert.Equal(runId, m.RunId);
            return m.Content[0].Text;
        }

        throw new InvalidOperationException("no messages");
    }
}
