using System.Text.Json;
using LocalAgentService.Engine;
using OpenAI.Assistants;
using OpenAI.Responses;

namespace LocalAgentService.Tests;

/// <summary>The two protocols an agent runs on.</summary>
public enum Protocol { Classic, Foundry }

/// <summary>
/// The simulated model picks offered tools from what the user asks (time questions, arithmetic, keywords) and answers
/// from the tool outputs — identically on both protocols, driven through the OpenAI SDK over 127.0.0.1.
/// </summary>
public sealed class SimulatedToolChoiceTests(FastServer fixture) : IClassFixture<FastServer>
{
    /// <summary>The tools AgentJobs ships (names, descriptions and schemas as src/AgentJobs/Tools/BuiltInTools.cs registers them).</summary>
    private static readonly Tool UtcNow = new("get_utc_now", "Returns the current date and time in UTC (ISO 8601) and the day of the week.", """{"type":"object","properties":{}}""");

    private static readonly Tool Calculate = new("calculate",
        "Evaluates an arithmetic expression exactly: numbers, + - * / % ^, parentheses. Use it instead of doing arithmetic yourself.",
        """{"type":"object","properties":{"expression":{"description":"The expression, e.g. (2 + 3) * 4 ^ 2 / 7","type":"string"}},"required":["expression"]}""");

    private static readonly Tool Weather = new("get_weather", "Returns the weather forecast for a city.",
        """{"type":"object","properties":{"units":{"type":"string","enum":["metric","imperial"]},"city":{"type":"string"}},"required":["city","units"]}""");

    [Theory]
    [InlineData(Protocol.Classic)]
    [InlineData(Protocol.Foundry)]
    public async Task An_arithmetic_question_calls_calculate_with_the_expression_and_the_answer_uses_its_result(Protocol protocol)
    {
        await using var agent = await AgentSession.StartAsync(fixture.Server, protocol, UtcNow, Calculate);

        var turn = await agent.AskAsync("What is 17 * 23?");
        var call = Assert.Single(turn.Calls);
        Assert.Equal("calculate", call.Name);
        Assert.Equal("""{"expression":"17 * 23"}""", call.Arguments);

        turn = await agent.SubmitAsync((call.Id, """{"expression":"17 * 23","value":391}"""));
        Assert.Empty(turn.Calls);
        Assert.Equal("[simulated gpt-4o-mini] 17 * 23 = 391.", turn.Text);
    }

    /// <summary>Naming the tool (rule 2) without JSON arguments still passes the message's arithmetic, as rule 3 would.</summary>
    [Theory]
    [InlineData(Protocol.Classic)]
    [InlineData(Protocol.Foundry)]
    public async Task A_named_calculator_without_json_arguments_gets_the_expression_from_the_message(Protocol protocol)
    {
        await using var agent = await AgentSession.StartAsync(fixture.Server, protocol, UtcNow, Calculate);

        var turn = await agent.AskAsync("What is 6 * 7? Use calculate.");
        var call = Assert.Single(turn.Calls);
        Assert.Equal(("calculate", """{"expression":"6 * 7"}"""), (call.Name, call.Arguments));
    }

    [Theory]
    [InlineData(Protocol.Classic)]
    [InlineData(Protocol.Foundry)]
    public async Task A_time_question_calls_the_clock_tool_and_the_answer_says_the_time_it_returned(Protocol protocol)
    {
        await using var agent = await AgentSession.StartAsync(fixture.Server, protocol, Calculate, UtcNow);

        var turn = await agent.AskAsync("What time is it?");
        var call = Assert.Single(turn.Calls);
        Assert.Equal(("get_utc_now", "{}"), (call.Name, call.Arguments));

        turn = await agent.SubmitAsync((call.Id, """{"utcNow":"2026-11-29T23:16:57.6378723+00:00","dayOfWeek":"Sunday"}"""));
        Assert.Equal(
            "[simulated gpt-4o-mini] The current time is 23:16:57 UTC on Sunday, 2026-11-29 (get_utc_now returned 2026-11-29T23:16:57.6378723+00:00).",
            turn.Text);
    }

    [Theory]
    [InlineData(Protocol.Classic, "Hello there, how are you?", "calculate,get_utc_now,get_weather")]
    [InlineData(Protocol.Foundry, "Hello there, how are you?", "calculate,get_utc_now,get_weather")]
    [InlineData(Protocol.Classic, "What time is it?", "calculate,get_weather")]
    [InlineData(Protocol.Foundry, "What time is it?", "calculate,get_weather")]
    [InlineData(Protocol.Classic, "What is 17 * 23?", "get_utc_now,get_weather")]
    [InlineData(Protocol.Foundry, "What is 17 * 23?", "get_utc_now,get_weather")]
    public async Task No_matching_offered_tool_means_no_tool_call_and_the_usual_answer(Protocol protocol, string prompt, string offered)
    {
        var all = new[] { Calculate, UtcNow, Weather };
        await using var agent = await AgentSession.StartAsync(fixture.Server, protocol, [.. all.Where(t => offered.Split(',').Contains(t.Name))]);

        var turn = await agent.AskAsync(prompt);
        Assert.Empty(turn.Calls);
        Assert.Equal($"[simulated gpt-4o-mini] You said: \"{prompt}\"", turn.Text);
    }

    [Theory]
    [InlineData(Protocol.Classic)]
    [InlineData(Protocol.Foundry)]
    public async Task Several_matching_tools_are_called_in_one_batch_in_offered_order_and_all_outputs_are_used(Protocol protocol)
    {
        await using var agent = await AgentSession.StartAsync(fixture.Server, protocol, Weather, UtcNow, Calculate);

        var turn = await agent.AskAsync("What is (2+3)^2, what's the date, and the weather in New York?");
        Assert.Equal(["get_weather", "get_utc_now", "calculate"], turn.Calls.Select(c => c.Name));
        Assert.Equal(["""{"city":"New York","units":"metric"}""", "{}", """{"expression":"(2+3)^2"}"""], turn.Calls.Select(c => c.Arguments));

        turn = await agent.SubmitAsync(
            (turn.Calls[0].Id, "sunny, 21C"),
            (turn.Calls[1].Id, "2026-01-02T03:04:05Z"),
            (turn.Calls[2].Id, """{"error":"tool 'calculate' failed: Attempted to divide by zero."}"""));
        Assert.Equal(
            "[simulated gpt-4o-mini] The current time is 03:04:05 UTC on Friday, 2026-01-02 (get_utc_now returned 2026-01-02T03:04:05Z)."
            + " The calculate tool failed: tool 'calculate' failed: Attempted to divide by zero."
            + " Based on the tool results: get_weather returned \"sunny, 21C\".",
            turn.Text);
    }

    [Theory]
    [InlineData(Protocol.Classic)]
    [InlineData(Protocol.Foundry)]
    public async Task The_same_question_gets_the_same_calls_and_the_same_answer(Protocol protocol)
    {
        var answers = new List<string>();
        for (int i = 0; i < 2; i++)
        {
            await using var agent = await AgentSession.StartAsync(fixture.Server, protocol, Weather, Calculate, UtcNow);
            var turn = await agent.AskAsync("What is 12 divided by 4, and the weather for \"Oslo\"?");
            answers.Add(string.Join(" | ", turn.Calls.Select(c => $"{c.Name} {c.Arguments}")));
            turn = await agent.SubmitAsync([.. turn.Calls.Select(c => (c.Id, c.Name == "calculate" ? "3" : "rain"))]);
            answers.Add(turn.Text!);
        }

        Assert.Equal("""get_weather {"city":"Oslo","units":"metric"} | calculate {"expression":"12 / 4"}""", answers[0]);
        Assert.Equal("[simulated gpt-4o-mini] 12 / 4 = 3. Based on the tool results: get_weather returned \"rain\".", answers[1]);
        Assert.Equal(answers[..2], answers[2..]);
    }

    [Fact]
    public async Task Without_parallel_tool_calls_only_the_first_chosen_tool_is_called()
    {
        await using var agent = await AgentSession.StartAsync(fixture.Server, Protocol.Classic, UtcNow, Calculate);
        var turn = await agent.AskAsync("What time is it and what is 6 * 7?", parallelToolCalls: false);
        Assert.Equal("get_utc_now", Assert.Single(turn.Calls).Name);
    }

    [Theory]
    [InlineData("What is 17 * 23?", "17 * 23")]
    [InlineData("what is (2+3)^2", "(2+3)^2")]
    [InlineData("What is 12 divided by 4?", "12 / 4")]
    [InlineData("Compute 1.5 times 4, please.", "1.5 * 4")]
    [InlineData("6x7 and 2 plus 2", "6 * 7")]
    [InlineData("(see 10 % 3) later", "10 % 3")]
    [InlineData("What day is 2024-01-15?", null)]
    [InlineData("I have 3 apples and 4 pears", null)]
    [InlineData("Version 1.2.3", null)]
    public void Arithmetic_expressions_are_found_and_normalized(string text, string? expected) =>
        Assert.Equal(expected, SimulatedToolChoice.FindExpression(text));

    /// <summary>A function tool as both protocols define it.</summary>
    private sealed record Tool(string Name, string Description, string Parameters);

    /// <summary>A call handed back to the client.</summary>
    private sealed record Call(string Id, string Name, string Arguments);

    /// <summary>What one model step produced: tool calls, or the answer's text.</summary>
    private sealed record Turn(IReadOnlyList<Call> Calls, string? Text);

    /// <summary>One agent with the given tools on either protocol; ask, then submit outputs; deletes the agent at the end.</summary>
    private sealed class AgentSession : IAsyncDisposable
    {
        private readonly LocalAgentServer server;
        private readonly Protocol protocol;
        private readonly string agent;
        private AssistantClient? assistants;
        private ResponsesClient? responses;
        private ThreadRun? run;
        private string? lastResponseId;

        private AgentSession(LocalAgentServer server, Protocol protocol, string agent)
        {
            this.server = server;
            this.protocol = protocol;
            this.agent = agent;
        }

        public static async Task<AgentSession> StartAsync(LocalAgentServer server, Protocol protocol, params Tool[] tools)
        {
            if (protocol == Protocol.Classic)
            {
                var client = Support.Client(server, Shape.OpenAI);
                var options = new AssistantCreationOptions();
                foreach (var tool in tools)
                {
                    options.Tools.Add(new FunctionToolDefinition(tool.Name) { Description = tool.Description, Parameters = BinaryData.FromString(tool.Parameters) });
                }

                var assistant = (await client.CreateAssistantAsync("gpt-4o-mini", options)).Value;
                return new AgentSession(server, protocol, assistant.Id) { assistants = client };
            }

            string name = "tools-" + Guid.NewGuid().ToString("N")[..12];
            string json = JsonSerializer.Serialize(tools.Select(t => new { type = "function", name = t.Name, description = t.Description, parameters = JsonDocument.Parse(t.Parameters).RootElement }));
            await FoundrySupport.CreateAgentAsync(server, name, "gpt-4o-mini", json);
            return new AgentSession(server, protocol, name) { responses = FoundrySupport.Responses(server) };
        }

        public async Task<Turn> AskAsync(string prompt, bool parallelToolCalls = true)
        {
            if (assistants is not null)
            {
                var thread = (await assistants.CreateThreadAsync(new ThreadCreationOptions { InitialMessages = { prompt } })).Value;
                run = await Support.WaitAsync(assistants, (await assistants.CreateRunAsync(thread.Id, agent, new RunCreationOptions { AllowParallelToolCalls = parallelToolCalls })).Value);
                return await ClassicTurnAsync();
            }

            var options = FoundrySupport.AgentOptions(agent, ResponseItem.CreateUserMessageItem(prompt));
            options.ParallelToolCallsEnabled = parallelToolCalls;
            return FoundryTurn(await FoundrySupport.RunAsync(responses!, options));
        }

        public async Task<Turn> SubmitAsync(params (string CallId, string Output)[] outputs)
        {
            if (assistants is not null)
            {
                await assistants.SubmitToolOutputsToRunAsync(run!.ThreadId, run.Id, outputs.Select(o => new ToolOutput(o.CallId, o.Output)));
                run = await Support.WaitAsync(assistants, run);
                return await ClassicTurnAsync();
            }

            var follow = FoundrySupport.AgentOptions(agent, [.. outputs.Select(o => ResponseItem.CreateFunctionCallOutputItem(o.CallId, o.Output))]);
            follow.PreviousResponseId = lastResponseId;
            return FoundryTurn(await FoundrySupport.RunAsync(responses!, follow));
        }

        private async Task<Turn> ClassicTurnAsync()
        {
            if (run!.Status == OpenAI.Assistants.RunStatus.RequiresAction)
            {
                return new Turn([.. run.RequiredActions.Select(a => new Call(a.ToolCallId, a.FunctionName, a.FunctionArguments))], null);
            }

            Assert.Equal(OpenAI.Assistants.RunStatus.Completed, run.Status);
            return new Turn([], await ToolCallTests.LatestTextAsync(assistants!, run.ThreadId, run.Id));
        }

        private Turn FoundryTurn(ResponseResult response)
        {
            Assert.Equal(ResponseStatus.Completed, response.Status);
            lastResponseId = response.Id;
            var calls = response.OutputItems.OfType<FunctionCallResponseItem>().Select(c => new Call(c.CallId, c.FunctionName, c.FunctionArguments.ToString())).ToList();
            return new Turn(calls, calls.Count > 0 ? null : response.GetOutputText());
        }

        public async ValueTask DisposeAsync()
        {
            if (assistants is not null)
            {
                await assistants.DeleteAssistantAsync(agent);
                return;
            }

            using var http = Support.Http(server);
            Assert.Equal(200, (await Support.SendAsync(http, HttpMethod.Delete, $"api/projects/local/agents/{agent}?api-version=v1")).Status);
        }
    }
}
