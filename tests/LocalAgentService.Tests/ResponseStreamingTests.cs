using System.ClientModel;
using OpenAI.Responses;

namespace LocalAgentService.Tests;

/// <summary>Responses <c>stream:true</c> (background) through the SDK's ResponsesClient: numbered events to a terminal event, and resume.</summary>
public sealed class ResponseStreamingTests(FastServer fixture) : IClassFixture<FastServer>
{
    private const string CalculateTool = """[{"type":"function","name":"calculate","parameters":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}}]""";

    private LocalAgentServer Server => fixture.Server;

    [Fact]
    public async Task A_background_response_streams_numbered_events_to_completed_and_resumes_after_any_number()
    {
        await FoundrySupport.CreateAgentAsync(Server, "streamer", "gpt-4o-mini", "[]");
        var client = FoundrySupport.Responses(Server);
        var updates = await ReadAsync(client.CreateResponseStreamingAsync(Streamed(FoundrySupport.AgentOptions("streamer", ResponseItem.CreateUserMessageItem("Hello there, streaming world")))));
        var arrived = DateTimeOffset.UtcNow;

        Assert.Equal(Enumerable.Range(0, updates.Count), updates.Select(u => u.SequenceNumber));
        Assert.IsType<StreamingResponseCreatedUpdate>(updates[0]);
        Assert.IsType<StreamingResponseQueuedUpdate>(updates[1]);
        Assert.IsType<StreamingResponseInProgressUpdate>(updates[2]);
        Assert.IsType<StreamingResponseOutputItemAddedUpdate>(updates[3]);
        Assert.IsType<StreamingResponseContentPartAddedUpdate>(updates[4]);
        Assert.IsType<StreamingResponseOutputTextDoneUpdate>(updates[^4]);
        Assert.IsType<StreamingResponseContentPartDoneUpdate>(updates[^3]);
        Assert.IsType<StreamingResponseOutputItemDoneUpdate>(updates[^2]);
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(updates[^1]);
        var deltas = updates.OfType<StreamingResponseOutputTextDeltaUpdate>().ToList();
        Assert.True(deltas.Count > 1, "the answer arrives in several deltas");
        Assert.Equal(updates.Count - 9, deltas.Count);

        string id = completed.Response.Id;
        string text = string.Concat(deltas.Select(d => d.Delta));
        Assert.Equal("[simulated gpt-4o-mini] You said: \"Hello there, streaming world\"", text);
        Assert.Equal(text, completed.Response.GetOutputText());
        Assert.Equal(text, ((ResponseResult)await client.GetResponseAsync(id)).GetOutputText());
        Assert.True(Server.TryGetRunSettledAt(id, out var settled));
        Assert.InRange(arrived - settled, TimeSpan.Zero, TimeSpan.FromSeconds(5));

        // Resume from any point: exactly the events after it, the same events again.
        foreach (int after in new[] { 0, 4, updates.Count - 2 })
        {
            var resumed = await ReadAsync(Resume(client, id, after));
            Assert.Equal(updates.Skip(after + 1).Select(u => (u.SequenceNumber, u.GetType())), resumed.Select(u => (u.SequenceNumber, u.GetType())));
        }

        Assert.Empty(await ReadAsync(Resume(client, id, updates.Count - 1)));
        Assert.Equal(updates.Count, (await ReadAsync(Resume(client, id, null))).Count);
    }

    [Fact]
    public async Task A_function_call_streams_as_an_item_with_arguments_and_the_follow_up_streams_the_answer()
    {
        await FoundrySupport.CreateAgentAsync(Server, "stream-calc", "gpt-4o-mini", CalculateTool);
        var client = FoundrySupport.Responses(Server);
        var first = await ReadAsync(client.CreateResponseStreamingAsync(Streamed(FoundrySupport.AgentOptions("stream-calc",
            ResponseItem.CreateUserMessageItem("""Please use calculate with {"expression": "6 * 7"}""")))));

        var added = Assert.IsType<StreamingResponseOutputItemAddedUpdate>(first[3]);
        Assert.Equal("calculate", Assert.IsType<FunctionCallResponseItem>(added.Item).FunctionName);
        var argumentsDelta = Assert.IsType<StreamingResponseFunctionCallArgumentsDeltaUpdate>(first[4]);
        var argumentsDone = Assert.IsType<StreamingResponseFunctionCallArgumentsDoneUpdate>(first[5]);
        Assert.Equal(argumentsDone.FunctionArguments.ToString(), argumentsDelta.Delta.ToString());
        Assert.Contains("6 * 7", argumentsDone.FunctionArguments.ToString(), StringComparison.Ordinal);
        var call = Assert.IsType<FunctionCallResponseItem>(Assert.IsType<StreamingResponseOutputItemDoneUpdate>(first[6]).Item);
        var completed = Assert.IsType<StreamingResponseCompletedUpdate>(first[7]);
        Assert.Equal(8, first.Count);

        var follow = FoundrySupport.AgentOptions("stream-calc", ResponseItem.CreateFunctionCallOutputItem(call.CallId, "42"));
        follow.PreviousResponseId = completed.Response.Id;
        var second = await ReadAsync(client.CreateResponseStreamingAsync(Streamed(follow)));
        Assert.Equal("[simulated gpt-4o-mini] 6 * 7 = 42.", string.Concat(second.OfType<StreamingResponseOutputTextDeltaUpdate>().Select(d => d.Delta)));
        Assert.IsType<StreamingResponseCompletedUpdate>(second[^1]);
    }

    [Fact]
    public async Task A_dropped_stream_ends_without_a_terminal_event_and_resuming_finishes_it()
    {
        await FoundrySupport.CreateAgentAsync(Server, "stream-drop", "gpt-4o-mini", "[]");
        var client = FoundrySupport.Responses(Server);
        Server.AddFault(new FaultRule { Operation = "create-response", Mode = "drop-stream", Count = 1 });
        var seen = new List<StreamingResponseUpdate>();
        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var update in await client.CreateResponseStreamingAsync(Streamed(FoundrySupport.AgentOptions("stream-drop", ResponseItem.CreateUserMessageItem("hi")))))
            {
                seen.Add(update);
            }
        });

        var created = Assert.IsType<StreamingResponseCreatedUpdate>(Assert.Single(seen));
        var rest = await ReadAsync(Resume(client, created.Response.Id, created.SequenceNumber));
        Assert.Equal(Enumerable.Range(1, rest.Count), rest.Select(u => u.SequenceNumber));
        Assert.IsType<StreamingResponseCompletedUpdate>(rest[^1]);
        Assert.Equal(ResponseStatus.Completed, ((ResponseResult)await client.GetResponseAsync(created.Response.Id)).Status);
    }

    [Fact]
    public async Task Cancelling_a_streamed_response_ends_its_stream_with_response_cancelled()
    {
        await using var slow = await Support.StartFastAsync(o => o.Simulation.InProgressMs = 5_000);
        var client = FoundrySupport.Responses(slow);
        var options = Streamed(new CreateResponseOptions { Model = "gpt-4o-mini", BackgroundModeEnabled = true, InputItems = { ResponseItem.CreateUserMessageItem("hi") } });
        var seen = new List<StreamingResponseUpdate>();
        await foreach (var update in await client.CreateResponseStreamingAsync(options))
        {
            seen.Add(update);
            if (update is StreamingResponseInProgressUpdate inProgress)
            {
                await client.CancelResponseAsync(inProgress.Response.Id);
            }
        }

        Assert.Equal(Enumerable.Range(0, 4), seen.Select(u => u.SequenceNumber));
        Assert.Equal("response.cancelled", System.Text.Json.JsonDocument.Parse(System.ClientModel.Primitives.ModelReaderWriter.Write(seen[^1])).RootElement.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Get_stream_needs_a_streamed_response_and_a_valid_starting_after()
    {
        using var http = Support.Http(Server);
        string plain = (await Support.PostAsync(http, "v1/responses", new { model = "gpt-4o-mini", input = "hi", background = true })).Body.GetProperty("id").GetString()!;
        Support.AssertError(400, await Support.GetAsync(http, $"v1/responses/{plain}?stream=true"), "stream");
        Support.AssertError(400, await Support.GetAsync(http, $"v1/responses/{plain}?stream=true&starting_after=-1"), "starting_after");
        Support.AssertError(404, await Support.GetAsync(http, "v1/responses/resp_missing?stream=true"));
    }

    private static CreateResponseOptions Streamed(CreateResponseOptions options)
    {
        options.StreamingEnabled = true;
        return options;
    }

    private static Task<AsyncStreamingResult<StreamingResponseUpdate>> Resume(ResponsesClient client, string id, int? after) =>
        client.GetResponseStreamingAsync(new GetResponseOptions(id) { StartingAfter = after, StreamingEnabled = true });

    private static async Task<List<StreamingResponseUpdate>> ReadAsync(Task<AsyncStreamingResult<StreamingResponseUpdate>> stream)
    {
        var list = new List<StreamingResponseUpdate>();
        await foreach (var update in await stream)
        {
            list.Add(update);
        }

        return list;
    }
}
