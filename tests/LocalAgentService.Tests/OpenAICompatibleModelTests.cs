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

        public static async Task<FakeChatEndpoint> StartAsync(int? failWith = null)
        {
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
                    : new { role = "assistant", content = (string?)null, tool_calls = new[] { new { id = "call_up1", type = "function", function = new { name = "get_weather", arguments = """{"city":"Oslo"}""" } } } };
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

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }
}
