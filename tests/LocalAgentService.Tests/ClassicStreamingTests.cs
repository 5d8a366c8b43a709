using System.ClientModel;
using System.Text;
using OpenAI.Assistants;

namespace LocalAgentService.Tests;

/// <summary>Classic <c>stream:true</c> through the SDK's own streaming methods: events follow the engine, end at requires_action or terminal.</summary>
public sealed class ClassicStreamingTests(FastServer fixture) : IClassFixture<FastServer>
{
    /// <summary>A queued run that answers: in progress, the message step with its message streamed, completed.</summary>
    private static readonly StreamingUpdateReason[] Answering =
    [
        StreamingUpdateReason.RunInProgress, StreamingUpdateReason.RunStepCreated, StreamingUpdateReason.MessageCreated,
        StreamingUpdateReason.MessageInProgress, StreamingUpdateReason.MessageUpdated, StreamingUpdateReason.MessageCompleted,
        StreamingUpdateReason.RunStepCompleted, StreamingUpdateReason.RunCompleted,
    ];

    private const string CalculateSchema = """{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}""";

    private LocalAgentServer Server => fixture.Server;

    [Theory]
    [InlineData(Shape.OpenAI)]
    [InlineData(Shape.Azure)]
    [InlineData(Shape.Project)]
    public async Task A_streamed_run_goes_created_to_completed_and_its_deltas_spell_the_listed_message(Shape shape)
    {
        var client = Support.Client(Server, shape);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var thread = (await client.CreateThreadAsync()).Value;
        await client.CreateMessageAsync(thread.Id, MessageRole.User, [MessageContent.FromText("Hello there, streaming world")]);

        var seen = await ReadAsync(client.CreateRunStreamingAsync(thread.Id, agent.Id));

        Assert.Equal(
            [StreamingUpdateReason.RunCreated, StreamingUpdateReason.RunQueued, .. Answering],
            seen.Kinds);
        Assert.True(seen.Deltas > 1, "the answer arrives in several deltas");
        Assert.Equal(await ToolCallTests.LatestTextAsync(client, thread.Id, seen.RunId), seen.Text);
        Assert.Equal("[simulated gpt-4o-mini] You said: \"Hello there, streaming world\"", seen.Text);
        Assert.Equal(RunStatus.Completed, (await client.GetRunAsync(thread.Id, seen.RunId)).Value.Status);
        AssertPrompt(seen);
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task A_tool_call_streams_requires_action_then_submitted_outputs_stream_to_completion()
    {
        var client = Support.Client(Server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini", new AssistantCreationOptions { Tools = { Support.Function("calculate", CalculateSchema) } })).Value;
        var thread = (await client.CreateThreadAsync()).Value;
        await client.CreateMessageAsync(thread.Id, MessageRole.User, [MessageContent.FromText("""Please use calculate with {"expression": "6 * 7"}""")]);

        var first = await ReadAsync(client.CreateRunStreamingAsync(thread.Id, agent.Id));
        Assert.Equal(
            [StreamingUpdateReason.RunCreated, StreamingUpdateReason.RunQueued, StreamingUpdateReason.RunInProgress,
             StreamingUpdateReason.RunStepCreated, StreamingUpdateReason.RunRequiresAction],
            first.Kinds);
        var call = Assert.Single(first.Actions);
        Assert.Equal("calculate", call.FunctionName);
        Assert.Contains("6 * 7", call.FunctionArguments, StringComparison.Ordinal);
        Assert.Equal(RunStatus.RequiresAction, (await client.GetRunAsync(thread.Id, first.RunId)).Value.Status);
        AssertPrompt(first);

        var second = await ReadAsync(client.SubmitToolOutputsToRunStreamingAsync(thread.Id, first.RunId, [new ToolOutput(call.ToolCallId, "42")]));
        Assert.Equal(
            [StreamingUpdateReason.RunStepCompleted, StreamingUpdateReason.RunQueued, .. Answering],
            second.Kinds);
        Assert.Equal(first.RunId, second.RunId);
        Assert.Equal("[simulated gpt-4o-mini] 6 * 7 = 42.", second.Text);
        Assert.Equal(second.Text, await ToolCallTests.LatestTextAsync(client, thread.Id, first.RunId));
        AssertPrompt(second);
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task Create_thread_and_run_streams_the_thread_first()
    {
        var client = Support.Client(Server, Shape.Project);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var seen = await ReadAsync(client.CreateThreadAndRunStreamingAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "Tell me a joke" } }));
        Assert.Equal(StreamingUpdateReason.ThreadCreated, seen.Kinds[0]);
        Assert.Equal(StreamingUpdateReason.RunCompleted, seen.Kinds[^1]);
        Assert.StartsWith("[simulated gpt-4o-mini] Here's a joke: ", seen.Text, StringComparison.Ordinal);
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task A_failing_run_streams_failed()
    {
        var client = Support.Client(Server, Shape.OpenAI, extra: RequestEditPolicy.Headers(("x-local-fault", "run-fail")));
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var thread = (await client.CreateThreadAsync(new ThreadCreationOptions { InitialMessages = { "hi" } })).Value;
        var seen = await ReadAsync(client.CreateRunStreamingAsync(thread.Id, agent.Id));
        Assert.Equal([StreamingUpdateReason.RunCreated, StreamingUpdateReason.RunQueued, StreamingUpdateReason.RunInProgress, StreamingUpdateReason.RunFailed], seen.Kinds);
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task Cancelling_a_streamed_run_streams_cancelling_then_cancelled()
    {
        await using var slow = await Support.StartFastAsync(o => o.Simulation.InProgressMs = 5_000);
        var client = Support.Client(slow, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var thread = (await client.CreateThreadAsync(new ThreadCreationOptions { InitialMessages = { "hi" } })).Value;
        var kinds = new List<StreamingUpdateReason>();
        await foreach (var update in await client.CreateRunStreamingAsync(thread.Id, agent.Id))
        {
            kinds.Add(update.UpdateKind);
            if (update is RunUpdate { UpdateKind: StreamingUpdateReason.RunInProgress } run)
            {
                await client.CancelRunAsync(thread.Id, run.Value.Id);
            }
        }

        Assert.Equal(
            [StreamingUpdateReason.RunCreated, StreamingUpdateReason.RunQueued, StreamingUpdateReason.RunInProgress,
             StreamingUpdateReason.RunCancelling, StreamingUpdateReason.RunCancelled],
            kinds);
    }

    [Fact]
    public async Task Drop_stream_ends_the_stream_after_the_first_event_and_the_run_still_completes()
    {
        var client = Support.Client(Server, Shape.OpenAI, extra: RequestEditPolicy.Headers(("x-local-fault", "drop-stream")));
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value; // not a stream: drop-stream leaves it alone
        var thread = (await client.CreateThreadAsync(new ThreadCreationOptions { InitialMessages = { "hi" } })).Value;
        var kinds = new List<StreamingUpdateReason>();
        string? runId = null;
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var update in await client.CreateRunStreamingAsync(thread.Id, agent.Id))
            {
                kinds.Add(update.UpdateKind);
                runId = (update as RunUpdate)?.Value.Id ?? runId;
            }
        });

        Assert.Equal([StreamingUpdateReason.RunCreated], kinds);
        var plain = Support.Client(Server, Shape.OpenAI);
        var run = await Support.WaitAsync(plain, (await plain.GetRunAsync(thread.Id, runId!)).Value);
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.True((await Server.GetStatsAsync()).StreamsOpened >= 1);
        await plain.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task Stream_errors_before_the_stream_starts_are_ordinary_json_errors()
    {
        using var http = Support.Http(Server);
        var thread = (await Support.PostAsync(http, "v1/threads", new { })).Body.GetProperty("id").GetString();
        Support.AssertError(404, await Support.PostAsync(http, $"v1/threads/{thread}/runs", new { assistant_id = "asst_missing", stream = true }));
        Support.AssertError(400, await Support.PostAsync(http, $"v1/threads/{thread}/runs/run_missing/submit_tool_outputs", new { tool_outputs = Array.Empty<object>(), stream = "yes" }), "stream");

        using var limited = new HttpRequestMessage(HttpMethod.Post, $"v1/threads/{thread}/runs") { Content = System.Net.Http.Json.JsonContent.Create(new { assistant_id = "asst_missing", stream = true }) };
        limited.Headers.Add("x-local-fault", "429");
        using var response = await http.SendAsync(limited);
        Assert.Equal(429, (int)response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType?.ToString());
    }

    /// <summary>The settling event reached the client soon after the engine settled the run (generous bound: a noisy 2-core box).</summary>
    private void AssertPrompt(Seen seen)
    {
        Assert.True(Server.TryGetRunSettledAt(seen.RunId, out var settled));
        Assert.InRange(seen.LastAt - settled, TimeSpan.Zero, TimeSpan.FromSeconds(5));
    }

    /// <summary>Reads a stream to its end; consecutive message deltas count as one kind.</summary>
    internal static async Task<Seen> ReadAsync(Task<AsyncStreamingResult<StreamingUpdate>> stream)
    {
        var seen = new Seen();
        await foreach (var update in await stream)
        {
            seen.LastAt = DateTimeOffset.UtcNow;
            if (seen.Kinds.Count == 0 || seen.Kinds[^1] != update.UpdateKind || update.UpdateKind != StreamingUpdateReason.MessageUpdated)
            {
                seen.Kinds.Add(update.UpdateKind);
            }

            switch (update)
            {
                case RequiredActionUpdate action:
                    seen.RunId = action.Value.Id;
                    seen.Actions.Add(action);
                    break;
                case RunUpdate run:
                    seen.RunId = run.Value.Id;
                    break;
                case MessageContentUpdate content:
                    seen.Deltas++;
                    seen.TextBuilder.Append(content.Text);
                    break;
            }
        }

        return seen;
    }

    internal sealed class Seen
    {
        public List<StreamingUpdateReason> Kinds { get; } = [];
        public List<RequiredActionUpdate> Actions { get; } = [];
        public StringBuilder TextBuilder { get; } = new();
        public string Text => TextBuilder.ToString();
        public string RunId { get; set; } = "";
        public int Deltas { get; set; }
        public DateTimeOffset LastAt { get; set; }
    }
}
