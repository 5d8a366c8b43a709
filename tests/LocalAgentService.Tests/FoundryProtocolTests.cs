using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using OpenAI.Conversations;
using OpenAI.Responses;

namespace LocalAgentService.Tests;

/// <summary>
/// The current Foundry protocol (versioned agents + Conversations + background Responses) on the shared store and engine,
/// driven by the OpenAI SDK's ResponsesClient/ConversationClient where they cover it and raw HTTP for agent versions.
/// </summary>
public sealed class FoundryProtocolTests
{
    private const string Tools = """[{"type":"function","name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false},"strict":true},{"type":"function","name":"get_time","parameters":{"type":"object","properties":{}}}]""";

    [Fact]
    public async Task Seed_flow_agent_version_conversation_background_response_poll_cleanup()
    {
        await using var server = await Support.StartFastAsync();
        using var http = Support.Http(server);
        var version = await CreateVersionAsync(http, "job-seed", description: "seed job");
        Assert.Equal("agent.version", version.GetProperty("object").GetString());
        Assert.Equal("job-seed:1", version.GetProperty("id").GetString());
        Assert.Equal("1", version.GetProperty("version").GetString());
        Assert.Equal("prompt", version.GetProperty("definition").GetProperty("kind").GetString());

        var conversations = Conversations(server);
        var created = await conversations.CreateConversationAsync(BinaryContent.Create(BinaryData.FromString("""{"metadata":{"job":"seed"}}""")));
        var conversation = Json(created);
        string conversationId = conversation.GetProperty("id").GetString()!;
        Assert.StartsWith("conv_", conversationId);
        Assert.Equal("conversation", conversation.GetProperty("object").GetString());

        var responses = Responses(server);
        var options = AgentOptions("job-seed", ResponseItem.CreateUserMessageItem("hello there"));
        options.ConversationOptions = new ResponseConversationOptions(conversationId);
        ResponseResult response = await responses.CreateResponseAsync(options);
        Assert.StartsWith("resp_", response.Id);
        Assert.Equal(ResponseStatus.Queued, response.Status);
        Assert.True(response.BackgroundModeEnabled);

        response = await PollAsync(responses, response.Id);
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.Equal("[simulated gpt-4o-mini] You said: \"hello there\"", response.GetOutputText());
        Assert.Null(response.Error);

        var raw = await Support.GetAsync(http, $"api/projects/local/openai/v1/responses/{response.Id}");
        Assert.True(int.Parse(Assert.Single(raw.Response.Headers.GetValues("retry-after-ms")), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Equal("job-seed", raw.Body.GetProperty("agent").GetProperty("name").GetString());
        Assert.Equal("agent_id", raw.Body.GetProperty("agent").GetProperty("type").GetString());
        Assert.Equal("1", raw.Body.GetProperty("agent_reference").GetProperty("version").GetString());
        Assert.Equal(conversationId, raw.Body.GetProperty("conversation").GetProperty("id").GetString());
        Assert.True(raw.Body.GetProperty("usage").GetProperty("total_tokens").GetInt32() > 0);

        var items = (await Support.GetAsync(http, $"api/projects/local/openai/v1/conversations/{conversationId}/items?order=asc")).Body;
        var data = items.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant"], data.Select(i => i.GetProperty("role").GetString()));
        Assert.Equal("input_text", data[0].GetProperty("content")[0].GetProperty("type").GetString());
        Assert.Equal("output_text", data[1].GetProperty("content")[0].GetProperty("type").GetString());
        Assert.Equal(response.Id, data[1].GetProperty("created_by").GetProperty("response_id").GetString());

        var stats = await server.GetStatsAsync();
        Assert.Equal(1, stats.Agents);
        Assert.Equal(1, stats.Conversations);
        Assert.Equal(1, stats.Responses["completed"]);

        await conversations.DeleteConversationAsync(conversationId);
        var deleted = await Support.SendAsync(http, HttpMethod.Delete, "api/projects/local/agents/job-seed?api-version=v1");
        Assert.Equal("agent.deleted", deleted.Body.GetProperty("object").GetString());
        Assert.True(deleted.Body.GetProperty("deleted").GetBoolean());

        stats = await server.GetStatsAsync();
        Assert.Equal(0, stats.Agents);
        Assert.Equal(0, stats.AgentNames);
        Assert.Equal(0, stats.Conversations);
        Assert.Equal(0, stats.ActiveResponses);
        Assert.Equal(1, stats.ConversationsDeleted);
        Assert.Equal(1, stats.AgentsDeleted);
        var wire = (await Support.GetAsync(http, "admin/stats")).Body;
        Assert.Equal(0, wire.GetProperty("agents").GetInt32());
        Assert.Equal(0, wire.GetProperty("conversations").GetInt32());
        Assert.Equal(1, wire.GetProperty("responses").GetProperty("completed").GetInt32());
        Assert.Equal(1, wire.GetProperty("responses_created").GetInt64());
    }

    [Fact]
    public async Task Tool_round_trip_with_previous_response_id_answers_from_the_outputs()
    {
        await using var server = await Support.StartFastAsync();
        using var http = Support.Http(server);
        await CreateVersionAsync(http, "job-tools");
        var responses = Responses(server);

        ResponseResult first = await responses.CreateResponseAsync(AgentOptions("job-tools", ResponseItem.CreateUserMessageItem("Call get_weather {\"city\":\"Oslo\"} then get_time")));
        first = await PollAsync(responses, first.Id);
        Assert.Equal(ResponseStatus.Completed, first.Status); // no requires_action in this protocol
        var calls = first.OutputItems.OfType<FunctionCallResponseItem>().ToList();
        Assert.Equal(["get_weather", "get_time"], calls.Select(c => c.FunctionName));
        Assert.Equal("{\"city\":\"Oslo\"}", calls[0].FunctionArguments.ToString());
        Assert.StartsWith("call_", calls[0].CallId);

        var missing = AgentOptions("job-tools", ResponseItem.CreateFunctionCallOutputItem(calls[0].CallId, "sunny"));
        missing.PreviousResponseId = first.Id;
        var error = await Assert.ThrowsAsync<ClientResultException>(() => responses.CreateResponseAsync(missing));
        Assert.Equal(400, error.Status);

        var follow = AgentOptions("job-tools",
            ResponseItem.CreateFunctionCallOutputItem(calls[0].CallId, "sunny"),
            ResponseItem.CreateFunctionCallOutputItem(calls[1].CallId, "noon"));
        follow.PreviousResponseId = first.Id;
        ResponseResult second = await responses.CreateResponseAsync(follow);
        Assert.NotEqual(first.Id, second.Id);
        second = await PollAsync(responses, second.Id);
        Assert.Equal(ResponseStatus.Completed, second.Status);
        Assert.Equal("[simulated gpt-4o-mini] Based on the tool results: get_weather returned \"sunny\"; get_time returned \"noon\".", second.GetOutputText());
        Assert.Equal(first.Id, second.PreviousResponseId);

        var input = (await Support.GetAsync(http, $"v1/responses/{second.Id}/input_items?order=asc")).Body.GetProperty("data");
        Assert.Equal(["function_call_output", "function_call_output"], input.EnumerateArray().Select(i => i.GetProperty("type").GetString()));
    }

    [Fact]
    public async Task Tool_round_trip_on_a_conversation_keeps_the_whole_exchange_in_order()
    {
        await using var server = await Support.StartFastAsync();
        using var http = Support.Http(server);
        await CreateVersionAsync(http, "job-conv-tools");
        const string Base = "api/projects/local/openai/v1";
        string conversation = (await Support.PostAsync(http, $"{Base}/conversations", new { })).Body.GetProperty("id").GetString()!;
        var added = await Support.PostAsync(http, $"{Base}/conversations/{conversation}/items",
            new { items = new object[] { new { type = "message", role = "user", content = "please get_weather" } } });
        Assert.Equal(200, added.Status);
        Assert.StartsWith("msg_", added.Body.GetProperty("data")[0].GetProperty("id").GetString());

        var agentRef = new { type = "agent_reference", name = "job-conv-tools" };
        var first = await Support.PostAsync(http, $"{Base}/responses", new { agent_reference = agentRef, conversation, input = Array.Empty<object>(), background = true });
        Assert.Equal("queued", first.Body.GetProperty("status").GetString());
        var done = await PollRawAsync(http, $"{Base}/responses/{first.Body.GetProperty("id").GetString()}");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        var call = done.GetProperty("output")[0];
        Assert.Equal("function_call", call.GetProperty("type").GetString());
        Assert.StartsWith("fc_", call.GetProperty("id").GetString());
        Assert.Equal("{\"city\":\"\"}", call.GetProperty("arguments").GetString());

        // The older body key 'agent' is accepted too; conversation given as {id}.
        var second = await Support.PostAsync(http, $"{Base}/responses", new
        {
            agent = agentRef,
            conversation = new { id = conversation },
            input = new object[] { new { type = "function_call_output", call_id = call.GetProperty("call_id").GetString(), output = "rain" } },
            background = true,
        });
        var answer = await PollRawAsync(http, $"{Base}/responses/{second.Body.GetProperty("id").GetString()}");
        Assert.Equal("completed", answer.GetProperty("status").GetString());
        Assert.Contains("get_weather returned \"rain\"", answer.GetProperty("output")[0].GetProperty("content")[0].GetProperty("text").GetString());

        var items = (await Support.GetAsync(http, $"{Base}/conversations/{conversation}/items?order=asc")).Body.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["message", "function_call", "function_call_output", "message"], items.Select(i => i.GetProperty("type").GetString()));
        var desc = (await Support.GetAsync(http, $"{Base}/conversations/{conversation}/items?limit=2")).Body;
        Assert.Equal(items[3].GetProperty("id").GetString(), desc.GetProperty("first_id").GetString());
        Assert.True(desc.GetProperty("has_more").GetBoolean());
        var next = (await Support.GetAsync(http, $"{Base}/conversations/{conversation}/items?limit=2&after={desc.GetProperty("last_id").GetString()}")).Body;
        Assert.Equal(items[0].GetProperty("id").GetString(), next.GetProperty("last_id").GetString());
        Assert.False(next.GetProperty("has_more").GetBoolean());
    }

    [Fact]
    public async Task Cancel_a_slow_background_response_and_cancel_rules()
    {
        await using var server = await Support.StartFastAsync(o => o.Simulation.InProgressMs = 10_000);
        using var http = Support.Http(server);
        await CreateVersionAsync(http, "job-cancel");
        var responses = Responses(server);
        ResponseResult response = await responses.CreateResponseAsync(AgentOptions("job-cancel", ResponseItem.CreateUserMessageItem("slow")));
        await Support.WaitUntilAsync(async () => (await responses.GetResponseAsync(response.Id)).Value.Status == ResponseStatus.InProgress, "in_progress");

        ResponseResult cancelled = await responses.CancelResponseAsync(response.Id);
        Assert.Equal(ResponseStatus.Cancelled, cancelled.Status);
        Assert.Equal(ResponseStatus.Cancelled, (await responses.GetResponseAsync(response.Id)).Value.Status);
        Assert.Equal(400, (await Assert.ThrowsAsync<ClientResultException>(() => responses.CancelResponseAsync(response.Id))).Status);
        var stats = await server.GetStatsAsync();
        Assert.Equal(1, stats.Responses["cancelled"]);
        Assert.Equal(0, stats.ActiveResponses);

        // A synchronous response cannot be cancelled (and answers completed directly).
        await using var fast = await Support.StartFastAsync();
        using var fastHttp = Support.Http(fast);
        var sync = await Support.PostAsync(fastHttp, "v1/responses", new { model = "gpt-4o-mini", input = "hi", instructions = "be brief" });
        Assert.Equal("completed", sync.Body.GetProperty("status").GetString());
        Assert.False(sync.Body.GetProperty("background").GetBoolean());
        Support.AssertError(400, await Support.PostAsync(fastHttp, $"v1/responses/{sync.Body.GetProperty("id").GetString()}/cancel", new { }));
        var gone = await Support.SendAsync(fastHttp, HttpMethod.Delete, $"v1/responses/{sync.Body.GetProperty("id").GetString()}");
        Assert.True(gone.Body.GetProperty("deleted").GetBoolean());
        Support.AssertError(404, await Support.GetAsync(fastHttp, $"v1/responses/{sync.Body.GetProperty("id").GetString()}"));
    }

    [Fact]
    public async Task Fault_injection_429_on_get_response_and_run_fail_and_run_expire()
    {
        await using var server = await Support.StartFastAsync();
        using var http = Support.Http(server);
        await CreateVersionAsync(http, "job-faults");
        var responses = Responses(server);
        ResponseResult response = await responses.CreateResponseAsync(AgentOptions("job-faults", ResponseItem.CreateUserMessageItem("hi")));

        server.AddFault(new FaultRule { Operation = "get-response", Mode = "429", Count = 1, RetryAfterMs = 700 });
        var limited = await Support.GetAsync(http, $"v1/responses/{response.Id}");
        Assert.Equal(429, limited.Status);
        Assert.Equal("1", Assert.Single(limited.Response.Headers.GetValues("Retry-After")));
        Assert.Equal("700", Assert.Single(limited.Response.Headers.GetValues("retry-after-ms")));
        Assert.Equal("rate_limit_exceeded", limited.Body.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(200, (await Support.GetAsync(http, $"v1/responses/{response.Id}")).Status);

        server.AddFault(new FaultRule { Operation = "create-response", Mode = "run-fail", Count = 1 });
        ResponseResult failing = await responses.CreateResponseAsync(AgentOptions("job-faults", ResponseItem.CreateUserMessageItem("hi")));
        failing = await PollAsync(responses, failing.Id);
        Assert.Equal(ResponseStatus.Failed, failing.Status);
        Assert.Contains("Injected fault", failing.Error.Message);

        using var expire = new HttpRequestMessage(HttpMethod.Post, "v1/responses")
        {
            Content = new StringContent("""{"agent_reference":{"type":"agent_reference","name":"job-faults"},"input":"hi","background":true}""", System.Text.Encoding.UTF8, "application/json"),
        };
        expire.Headers.Add("x-local-fault", "run-expire");
        var expiring = JsonDocument.Parse(await (await http.SendAsync(expire)).Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        ResponseResult expired = await PollAsync(responses, expiring);
        Assert.Equal(ResponseStatus.Failed, expired.Status);
        Assert.Contains("expired", expired.Error.Message);

        server.AddFault(new FaultRule { Operation = "create-agent-version", Mode = "500", Count = 1 });
        Support.AssertError(500, await Support.PostAsync(http, "api/projects/local/agents/job-faults/versions?api-version=v1", VersionBody()));
    }

    [Fact]
    public async Task Agent_versions_name_rule_404s_and_request_rules()
    {
        await using var server = await Support.StartFastAsync();
        using var http = Support.Http(server);
        const string P = "api/projects/local";
        foreach (var bad in new[] { "-lead", "trail-", "under_score", new string('a', 64) })
        {
            Support.AssertError(400, await Support.PostAsync(http, $"{P}/agents/{bad}/versions?api-version=v1", VersionBody()));
        }

        await CreateVersionAsync(http, new string('a', 63));
        var second = await CreateVersionAsync(http, "job-v");
        Assert.Equal("1", second.GetProperty("version").GetString());
        Assert.Equal("2", (await CreateVersionAsync(http, "job-v")).GetProperty("version").GetString());
        var agent = (await Support.GetAsync(http, $"{P}/agents/job-v?api-version=v1")).Body;
        Assert.Equal("agent", agent.GetProperty("object").GetString());
        Assert.Equal("2", agent.GetProperty("versions").GetProperty("latest").GetProperty("version").GetString());
        Assert.Equal("job-v:1", (await Support.GetAsync(http, $"{P}/agents/job-v/versions/1?api-version=v1")).Body.GetProperty("id").GetString());
        var deleted = (await Support.SendAsync(http, HttpMethod.Delete, $"{P}/agents/job-v/versions/1?api-version=v1")).Body;
        Assert.Equal("agent.version.deleted", deleted.GetProperty("object").GetString());
        Assert.Equal("1", deleted.GetProperty("version").GetString());

        Support.AssertError(404, await Support.GetAsync(http, $"{P}/agents/job-v/versions/1?api-version=v1"));
        Support.AssertError(404, await Support.GetAsync(http, $"{P}/agents/nobody?api-version=v1"));
        Support.AssertError(404, await Support.SendAsync(http, HttpMethod.Delete, $"{P}/agents/nobody?api-version=v1"));
        Support.AssertError(400, await Support.GetAsync(http, $"{P}/agents/job-v"), "api-version");
        Support.AssertError(404, await Support.GetAsync(http, $"{P}/openai/v1/conversations/conv_missing"));
        Support.AssertError(404, await Support.GetAsync(http, $"{P}/openai/v1/responses/resp_missing"));
        Support.AssertError(404, await Support.PostAsync(http, $"{P}/openai/v1/responses", new { agent_reference = new { type = "agent_reference", name = "nobody" }, input = "hi" }));
        Support.AssertError(404, await Support.PostAsync(http, $"{P}/openai/v1/responses", new { agent_reference = new { type = "agent_reference", name = "job-v", version = "9" }, input = "hi" }));

        string conversation = (await Support.PostAsync(http, $"{P}/openai/v1/conversations", new { })).Body.GetProperty("id").GetString()!;
        Support.AssertError(400, await Support.PostAsync(http, $"{P}/openai/v1/responses",
            new { agent_reference = new { type = "agent_reference", name = "job-v" }, conversation, previous_response_id = "resp_x", input = "hi" }), "conversation");
        Support.AssertError(400, await Support.PostAsync(http, $"{P}/openai/v1/responses",
            new { agent_reference = new { type = "agent_reference", name = "job-v" }, input = new object[] { new { type = "function_call_output", call_id = "call_x", output = "o" } } }), "input");
        Support.AssertError(400, await Support.PostAsync(http, $"{P}/openai/v1/responses", new { input = "no agent, no model" }), "agent_reference");
        Support.AssertError(400, await Support.PostAsync(http, $"{P}/agents/job-v/versions?api-version=v1", new { definition = new { kind = "prompt" } }), "definition.model");

        var gone = (await Support.SendAsync(http, HttpMethod.Delete, $"{P}/openai/v1/conversations/{conversation}")).Body;
        Assert.Equal("conversation.deleted", gone.GetProperty("object").GetString());
        Support.AssertError(404, await Support.GetAsync(http, $"{P}/openai/v1/conversations/{conversation}/items"));
    }

    [Fact]
    public async Task Response_rules_store_false_one_active_response_per_conversation_and_token_cap()
    {
        await using var fast = await Support.StartFastAsync();
        using var http = Support.Http(fast);
        Support.AssertError(400, await Support.PostAsync(http, "v1/responses", new { model = "gpt-4o-mini", input = "hi", stream = "yes" }), "stream");
        Support.AssertError(400, await Support.PostAsync(http, "v1/responses", new { model = "gpt-4o-mini", input = "hi", background = true, store = false }), "store");

        // A synchronous store:false response answers once and is then forgotten.
        var unstored = await Support.PostAsync(http, "v1/responses", new { model = "gpt-4o-mini", input = "hi", store = false });
        Assert.Equal("completed", unstored.Body.GetProperty("status").GetString());
        Assert.False(unstored.Body.GetProperty("store").GetBoolean());
        Support.AssertError(404, await Support.GetAsync(http, $"v1/responses/{unstored.Body.GetProperty("id").GetString()}"));

        var capped = await Support.PostAsync(http, "v1/responses", new { model = "gpt-4o-mini", input = "a fairly long message to echo back", max_output_tokens = 2 });
        Assert.Equal("incomplete", capped.Body.GetProperty("status").GetString());
        Assert.Equal("max_output_tokens", capped.Body.GetProperty("incomplete_details").GetProperty("reason").GetString());

        await using var slow = await Support.StartFastAsync(o => o.Simulation.InProgressMs = 10_000);
        using var slowHttp = Support.Http(slow);
        string conversation = (await Support.PostAsync(slowHttp, "v1/conversations", new { })).Body.GetProperty("id").GetString()!;
        var running = await Support.PostAsync(slowHttp, "v1/responses", new { model = "gpt-4o-mini", conversation, input = "slow", background = true });
        string runningId = running.Body.GetProperty("id").GetString()!;
        Support.AssertError(400, await Support.PostAsync(slowHttp, "v1/responses", new { model = "gpt-4o-mini", conversation, input = "again", background = true }), "conversation");
        Support.AssertError(400, await Support.PostAsync(slowHttp, "v1/responses", new { model = "gpt-4o-mini", previous_response_id = runningId, input = "next", background = true }), "previous_response_id");

        // Deleting the conversation cancels its active response.
        Assert.Equal(200, (await Support.SendAsync(slowHttp, HttpMethod.Delete, $"v1/conversations/{conversation}")).Status);
        Assert.Equal("cancelled", (await Support.GetAsync(slowHttp, $"v1/responses/{runningId}")).Body.GetProperty("status").GetString());
        Assert.Equal(0, (await slow.GetStatsAsync()).ActiveResponses);
    }

    [Fact]
    public async Task A_synchronous_unstored_response_is_forgotten_even_when_the_client_stops_waiting()
    {
        await using var server = await Support.StartFastAsync(o => o.Simulation.InProgressMs = 400);
        using var http = Support.Http(server);
        using var giveUp = new CancellationTokenSource();
        var waiting = http.PostAsync("v1/responses", System.Net.Http.Json.JsonContent.Create(new { model = "gpt-4o-mini", input = "hi", store = false }), giveUp.Token);
        await Support.WaitUntilAsync(async () => (await server.GetStatsAsync()).ResponsesCreated == 1, "the response to be created");
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        // Once the engine has finished the response, nothing of it may stay in the store.
        await Support.WaitUntilAsync(async () => (await server.GetStatsAsync()).ActiveResponses == 0, "the response to finish");
        var stats = await server.GetStatsAsync();
        Assert.Equal(0, stats.Responses.Values.Sum());
        Assert.Equal(1, stats.ResponsesCreated);
    }

    private static ResponsesClient Responses(LocalAgentServer server) =>
        new(ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(Support.Key)),
            new ResponsesClientOptions { Endpoint = new Uri(server.ProjectEndpoint + "/openai/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    private static ConversationClient Conversations(LocalAgentServer server) =>
        new(ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(Support.Key)),
            new ConversationClientOptions { Endpoint = new Uri(server.ProjectEndpoint + "/openai/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    /// <summary>A background response for a named agent, the reference set through the options' JSON patch as the Foundry extension does.</summary>
    private static CreateResponseOptions AgentOptions(string agent, params ResponseItem[] input)
    {
        var options = new CreateResponseOptions { BackgroundModeEnabled = true };
        foreach (var item in input)
        {
            options.InputItems.Add(item);
        }

        options.Patch.Set("$.agent_reference"u8, BinaryData.FromString($$"""{"type":"agent_reference","name":"{{agent}}"}"""));
        return options;
    }

    private static object VersionBody(string? description = null) => new
    {
        description,
        metadata = new { jobId = "1" },
        definition = new { kind = "prompt", model = "gpt-4o-mini", instructions = "Be helpful.", tools = JsonDocument.Parse(Tools).RootElement },
    };

    private static async Task<JsonElement> CreateVersionAsync(HttpClient http, string name, string? description = null)
    {
        var result = await Support.PostAsync(http, $"api/projects/local/agents/{name}/versions?api-version=v1", VersionBody(description));
        Assert.Equal(200, result.Status);
        return result.Body;
    }

    private static Task<ResponseResult> PollAsync(ResponsesClient client, string id) =>
        PollUntilTerminalAsync(async () => (ResponseResult)await client.GetResponseAsync(id), r => r.Status.ToString(), id);

    private static Task<JsonElement> PollRawAsync(HttpClient http, string path) =>
        PollUntilTerminalAsync(async () => (await Support.GetAsync(http, path)).Body, b => b.GetProperty("status").GetString(), path);

    /// <summary>Reads until the status leaves queued/in_progress (bounded deadline).</summary>
    private static async Task<T> PollUntilTerminalAsync<T>(Func<Task<T>> read, Func<T, string?> status, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            var value = await read();
            string? current = status(value);
            if (current is not ("Queued" or "InProgress" or "queued" or "in_progress"))
            {
                return value;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{what} stuck in {current}");
            await Task.Delay(15);
        }
    }

    private static JsonElement Json(ClientResult result) => JsonDocument.Parse(result.GetRawResponse().Content.ToMemory()).RootElement.Clone();
}
