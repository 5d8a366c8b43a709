using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using OpenAI.Assistants;

namespace LocalAgentService.Tests;

/// <summary>The openai-compatible model maps runs to chat completions and back, against a fake endpoint on 127.0.0.1.</summary>
public sealed class OpenAICompatibleModelTests
{
    [Fact]
    public async Task Instructions_messages_tools_and_tool_outputs_map_to_chat_completions_and_back()
    {
        await using var upstream = await FakeChatEndpoint.StartAsync();
        await using var server = await Support.StartFastAsync(o => o.Models["gpt-real"] = new ModelEndpointOptions
        {
            Kind = ModelKinds.OpenAICompatible,
            Endpoint = upstream.Endpoint,
            ApiKey = "upstream-key",
            UpstreamModel = "llama3",
        });
        var client = Support.Client(server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-real", new AssistantCreationOptions
        {
            Instructions = "Be brief",
            Tools = { Support.Function("get_weather") },
        })).Value;
        var thread = (await client.CreateThreadAsync(new ThreadCreationOptions { InitialMessages = { "What's the weather?" } })).Value;

        var run = await Support.WaitAsync(client, (await client.CreateRunAsync(thread.Id, agent.Id)).Value);
        Assert.Equal(RunStatus.RequiresAction, run.Status);
        var call = Assert.Single(run.RequiredActions);
        Assert.Equal(("call_up1", "get_weather", """{"city":"Oslo"}"""), (call.ToolCallId, call.FunctionName, call.FunctionArguments));

        await client.SubmitToolOutputsToRunAsync(thread.Id, run.Id, [new ToolOutput("call_up1", "rain, 4C")]);
        run = await Support.WaitAsync(client, run);
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.Equal("It rains in Oslo.", await ToolCallTests.LatestTextAsync(client, thread.Id, run.Id));
        Assert.Equal((22, 14), (run.Usage.InputTokenCount, run.Usage.OutputTokenCount));

        Assert.Equal(2, upstream.Requests.Count);
        var first = upstream.Requests[0];
        Assert.Equal("Bearer upstream-key", first.Authorization);
        Assert.Equal("llama3", first.Body.GetProperty("model").GetString());
        var messages = first.Body.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["system", "user"], messages.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Be brief", Text(messages[0]));
        Assert.Equal("What's the weather?", Text(messages[1]));
        var tool = Assert.Single(first.Body.GetProperty("tools").EnumerateArray());
        Assert.Equal("get_weather", tool.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("object", tool.GetProperty("function").GetProperty("parameters").GetProperty("type").GetString());

        var second = upstream.Requests[1].Body.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["system", "user", "assistant", "tool"], second.Select(m => m.GetProperty("role").GetString()));
        var echoed = second[2].GetProperty("tool_calls")[0];
        Assert.Equal("call_up1", echoed.GetProperty("id").GetString());
        Assert.Equal("get_weather", echoed.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("call_up1", second[3].GetProperty("tool_call_id").GetString());
        Assert.Equal("rain, 4C", Text(second[3]));
    }

    [Fact]
    public async Task An_upstream_error_fails_the_run_with_last_error()
    {
        await using var upstream = await FakeChatEndpoint.StartAsync(failWith: 400);
        await using var server = await Support.StartFastAsync(o => o.Models["broken"] = new ModelEndpointOptions { Kind = ModelKinds.OpenAICompatible, Endpoint = upstream.Endpoint });
        var client = Support.Client(server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("broken")).Value;
        var run = await Support.WaitAsync(client, (await client.CreateThreadAndRunAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "hi" } })).Value);
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal("server_error", run.LastError.Code.ToString());
        Assert.Contains("400", run.LastError.Message);
    }

    /// <summary>The calls of one upstream answer as the client sees them: the same id twice and an empty id.</summary>
    private static readonly object[] ClashingCalls =
        [FakeChatEndpoint.Call("call_dup", "Oslo"), FakeChatEndpoint.Call("call_dup", "Paris"), FakeChatEndpoint.Call("", "Rome")];

    [Fact]
    public async Task Duplicate_and_empty_upstream_call_ids_become_unique_run_call_ids_and_outputs_map_back()
    {
        await using var upstream = await FakeChatEndpoint.StartAsync(toolCalls: ClashingCalls);
        await using var server = await Support.StartFastAsync(o => o.Models["gpt-real"] = new ModelEndpointOptions { Kind = ModelKinds.OpenAICompatible, Endpoint = upstream.Endpoint });
        var client = Support.Client(server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-real", new AssistantCreationOptions { Tools = { Support.Function("get_weather") } })).Value;
        var run = await Support.WaitAsync(client, (await client.CreateThreadAndRunAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "Weather in three cities?" } })).Value);

        Assert.Equal(RunStatus.RequiresAction, run.Status);
        var calls = run.RequiredActions.ToList();
        Assert.Equal(3, calls.Count);
        Assert.Equal(3, calls.Select(c => c.ToolCallId).Distinct(StringComparer.Ordinal).Count());
        Assert.All(calls, c => Assert.False(string.IsNullOrWhiteSpace(c.ToolCallId)));
        Assert.Equal("call_dup", calls[0].ToolCallId); // a model's id is kept while it is unique
        Assert.Equal(["Oslo", "Paris", "Rome"], calls.Select(c => City(c.FunctionArguments)));

        run = (await client.SubmitToolOutputsToRunAsync(run.ThreadId, run.Id,
            calls.Select(c => new ToolOutput(c.ToolCallId, "weather in " + City(c.FunctionArguments))))).Value;
        run = await Support.WaitAsync(client, run);
        Assert.Equal(RunStatus.Completed, run.Status);
        AssertUpstreamSawOutputsPerCall(upstream, calls.Select(c => c.ToolCallId).ToList());
    }

    [Fact]
    public async Task Duplicate_and_empty_upstream_call_ids_become_unique_function_call_ids_on_the_foundry_protocol()
    {
        await using var upstream = await FakeChatEndpoint.StartAsync(toolCalls: ClashingCalls);
        await using var server = await Support.StartFastAsync(o => o.Models["gpt-real"] = new ModelEndpointOptions { Kind = ModelKinds.OpenAICompatible, Endpoint = upstream.Endpoint });
        await FoundrySupport.CreateAgentAsync(server, "dup-ids", "gpt-real", """[{"type":"function","name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}]""");
        var responses = FoundrySupport.Responses(server);

        var first = await FoundrySupport.RunAsync(responses, FoundrySupport.AgentOptions("dup-ids", OpenAI.Responses.ResponseItem.CreateUserMessageItem("Weather in three cities?")));
        Assert.Equal(OpenAI.Responses.ResponseStatus.Completed, first.Status);
        var calls = first.OutputItems.OfType<OpenAI.Responses.FunctionCallResponseItem>().ToList();
        Assert.Equal(3, calls.Count);
        Assert.Equal(3, calls.Select(c => c.CallId).Distinct(StringComparer.Ordinal).Count());
        Assert.All(calls, c => Assert.False(string.IsNullOrWhiteSpace(c.CallId)));
        Assert.Equal(["Oslo", "Paris", "Rome"], calls.Select(c => City(c.FunctionArguments.ToString())));

        var follow = FoundrySupport.AgentOptions("dup-ids",
            [.. calls.Select(c => OpenAI.Responses.ResponseItem.CreateFunctionCallOutputItem(c.CallId, "weather in " + City(c.FunctionArguments.ToString())))]);
        follow.PreviousResponseId = first.Id;
        var second = await FoundrySupport.RunAsync(responses, follow);
        Assert.Equal(OpenAI.Responses.ResponseStatus.Completed, second.Status);
        Assert.Equal("It rains in Oslo.", second.GetOutputText());
        AssertUpstreamSawOutputsPerCall(upstream, calls.Select(c => c.CallId).ToList());
    }

    /// <summary>The follow-up chat request carries the service's ids on both the assistant's calls and the tool messages, each output with its own call.</summary>
    private static void AssertUpstreamSawOutputsPerCall(FakeChatEndpoint upstream, IReadOnlyList<string> ids)
    {
        Assert.Equal(2, upstream.Requests.Count);
        var messages = upstream.Requests[1].Body.GetProperty("messages").EnumerateArray().ToList();
        var assistant = messages.Single(m => m.GetProperty("role").GetString() == "assistant");
        var sent = assistant.GetProperty("tool_calls").EnumerateArray()
            .ToDictionary(c => c.GetProperty("id").GetString()!, c => City(c.GetProperty("function").GetProperty("arguments").GetString()!));
        Assert.Equal(ids.Order(StringComparer.Ordinal), sent.Keys.Order(StringComparer.Ordinal));
        var tools = messages.Where(m => m.GetProperty("role").GetString() == "tool").ToList();
        Assert.Equal(3, tools.Count);
        Assert.All(tools, t => Assert.Equal("weather in " + sent[t.GetProperty("tool_call_id").GetString()!], Text(t)));
    }

    private static string City(string arguments) => JsonDocument.Parse(arguments).RootElement.GetProperty("city").GetString()!;

    private static string Text(JsonElement message)
    {
        var content = message.GetProperty("content");
        return content.ValueKind == JsonValueKind.String ? content.GetString()! : content[0].GetProperty("text").GetString()!;
    }

    /// <summary>A tiny chat-completions server: a tool call first, then a text answer; records each request.</summary>
    private sealed class FakeChatEndpoint : IAsyncDisposable
    {
        private readonly WebApplication app;

        private FakeChatEndpoint(WebApplication app, Uri endpoint)
        {
            this.app = app;
            Endpoint = endpoint;
        }

        public Uri Endpoint { get; }

        public List<(string? Authorization, JsonElement Body)> Requests => [.. requests];

        private readonly ConcurrentQueue<(string?, JsonElement)> requests = new();

        /// <summary>Starts the endpoint; <paramref name="toolCalls"/> replaces the first answer's tool calls (default: one <c>call_up1</c>).</summary>
        public static async Task<FakeChatEndpoint> StartAsync(int? failWith = null, object[]? toolCalls = null)
        {
            toolCalls ??= [Call("call_up1", "Oslo")];
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            FakeChatEndpoint? self = null;
            app.MapPost("/v1/chat/completions", async (HttpRequest request) =>
            {
                var body = (await JsonDocument.ParseAsync(request.Body)).RootElement.Clone();
                self!.requests.Enqueue((request.Headers.Authorization.ToString(), body));
                if (failWith is { } status)
                {
                    return Results.Json(new { error = new { message = "bad upstream request", type = "invalid_request_error" } }, statusCode: status);
                }

                bool answered = body.GetProperty("messages").EnumerateArray().Any(m => m.GetProperty("role").GetString() == "tool");
                object message = answered
                    ? new { role = "assistant", content = "It rains in Oslo." }
                    : new { role = "assistant", content = (string?)null, tool_calls = toolCalls };
                return Results.Json(new
                {
                    id = "chatcmpl-1", @object = "chat.completion", created = 1, model = "llama3",
                    choices = new[] { new { index = 0, message, finish_reason = answered ? "stop" : "tool_calls" } },
                    usage = new { prompt_tokens = 11, completion_tokens = 7, total_tokens = 18 },
                });
            });
            await app.StartAsync();
            var address = new Uri(app.Urls.First());
            self = new FakeChatEndpoint(app, new Uri(address, "v1"));
            return self;
        }

        /// <summary>A get_weather tool call as a chat-completions server sends it.</summary>
        public static object Call(string id, string city) =>
            new { id, type = "function", function = new { name = "get_weather", arguments = $$"""{"city":"{{city}}"}""" } };

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }
}
