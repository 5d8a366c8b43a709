using System.Text.Json;
using OpenAI.Assistants;

namespace LocalAgentService.Tests;

/// <summary>Every client-mistake class answers with the protocol's error body (400/404/413), never a 500; lists paginate like the service.</summary>
public sealed class ErrorAndPagingTests(FastServer fixture) : IClassFixture<FastServer>
{
    [Fact]
    public async Task Malformed_json_wrong_types_and_missing_fields_are_400_with_param()
    {
        using var http = Support.Http(fixture.Server);
        Support.AssertError(400, await Support.SendAsync(http, HttpMethod.Post, "v1/assistants", rawBody: "{not json"));
        Support.AssertError(400, await Support.SendAsync(http, HttpMethod.Post, "v1/assistants", rawBody: "[1,2]"));
        Support.AssertError(400, await Support.PostAsync(http, "v1/assistants", new { name = "x" }), "model");
        Support.AssertError(400, await Support.PostAsync(http, "v1/assistants", new { model = 5 }), "model");
        Support.AssertError(400, await Support.PostAsync(http, "v1/assistants", new { model = "m", temperature = "hot" }), "temperature");
        Support.AssertError(400, await Support.PostAsync(http, "v1/assistants", new { model = "m", tools = "nope" }), "tools");
        Support.AssertError(400, await Support.PostAsync(http, "v1/assistants", new { model = "m", tools = new[] { new { type = "function" } } }), "tools[0].function");
        Support.AssertError(400, await Support.PostAsync(http, "v1/assistants", new { model = "m", tools = new[] { new { type = "function", function = new { name = "bad name!" } } } }), "tools[0].function.name");
        Support.AssertError(400, await Support.PostAsync(http, "v1/assistants", new { model = "m", metadata = new { a = 1 } }), "metadata.a");
        var tooMany = Enumerable.Range(0, 17).ToDictionary(i => $"k{i}", i => "v");
        Support.AssertError(400, await Support.PostAsync(http, "v1/assistants", new { model = "m", metadata = tooMany }), "metadata");

        var thread = (await Support.PostAsync(http, "v1/threads", new { })).Body.GetProperty("id").GetString();
        Support.AssertError(400, await Support.PostAsync(http, $"v1/threads/{thread}/messages", new { role = "system", content = "x" }), "role");
        Support.AssertError(400, await Support.PostAsync(http, $"v1/threads/{thread}/messages", new { role = "user" }), "content");
        Support.AssertError(400, await Support.PostAsync(http, $"v1/threads/{thread}/messages", new { role = "user", content = 3 }), "content");
        Support.AssertError(400, await Support.PostAsync(http, $"v1/threads/{thread}/messages", new { role = "user", content = new[] { new { type = "audio" } } }), "content[0].type");
        Support.AssertError(400, await Support.PostAsync(http, $"v1/threads/{thread}/messages", new { role = "user", content = new string('x', 256_001) }), "content");
        Support.AssertError(400, await Support.PostAsync(http, $"v1/threads/{thread}/runs", new { }), "assistant_id");
        Support.AssertError(400, await Support.PostAsync(http, $"v1/threads/{thread}/runs", new { assistant_id = "asst_x", stream = "yes" }), "stream");
        Support.AssertError(400, await Support.PostAsync(http, $"v1/threads/{thread}/runs", new { assistant_id = "asst_x", max_completion_tokens = 0 }), "max_completion_tokens");
        Support.AssertError(400, await Support.PostAsync(http, "v1/threads", new { messages = new[] { new { role = "user", content = "ok" }, new { role = "bot", content = "x" } } }), "messages[1].role");
    }

    [Fact]
    public async Task Unknown_ids_and_routes_are_404()
    {
        using var http = Support.Http(fixture.Server);
        var assistant = (await Support.PostAsync(http, "v1/assistants", new { model = "m" })).Body.GetProperty("id").GetString();
        var run = (await Support.PostAsync(http, "v1/threads/runs", new { assistant_id = assistant })).Body;
        string thread = run.GetProperty("thread_id").GetString()!, runId = run.GetProperty("id").GetString()!;

        Support.AssertError(404, await Support.GetAsync(http, "v1/assistants/asst_missing"));
        Support.AssertError(404, await Support.SendAsync(http, HttpMethod.Delete, "v1/assistants/asst_missing"));
        Support.AssertError(404, await Support.GetAsync(http, "v1/threads/thread_missing"));
        Support.AssertError(404, await Support.GetAsync(http, "v1/threads/thread_missing/messages"));
        Support.AssertError(404, await Support.GetAsync(http, $"v1/threads/{thread}/messages/msg_missing"));
        Support.AssertError(404, await Support.GetAsync(http, $"v1/threads/{thread}/runs/run_missing"));
        Support.AssertError(404, await Support.GetAsync(http, $"v1/threads/{thread}/runs/{runId}/steps/step_missing"));
        Support.AssertError(404, await Support.PostAsync(http, "v1/threads/runs", new { assistant_id = "asst_missing" }));
        Support.AssertError(404, await Support.PostAsync(http, $"v1/threads/{thread}/runs/run_missing/cancel", new { }));
        Support.AssertError(404, await Support.GetAsync(http, "v1/nothing/here"));
        Support.AssertError(400, await Support.GetAsync(http, "openai/assistants"), "api-version");
        Support.AssertError(400, await Support.GetAsync(http, "api/projects/p/assistants"), "api-version");
        Assert.Equal(200, (await Support.GetAsync(http, "api/projects/p/assistants?api-version=v1")).Status);
    }

    [Fact]
    public async Task Oversized_bodies_are_413_and_bad_pagination_is_400()
    {
        using var http = Support.Http(fixture.Server);
        var big = await Support.SendAsync(http, HttpMethod.Post, "v1/assistants", rawBody: "{\"model\":\"m\",\"instructions\":\"" + new string('x', 1_100_000) + "\"}");
        Support.AssertError(413, big);

        foreach (var query in new[] { "limit=0", "limit=101", "limit=abc", "order=sideways", "after=asst_unknown", "before=asst_unknown" })
        {
            Support.AssertError(400, await Support.GetAsync(http, "v1/assistants?" + query));
        }
    }

    [Fact]
    public async Task Messages_paginate_with_limit_order_after_before_and_run_filter()
    {
        var client = Support.Client(fixture.Server, Shape.OpenAI);
        var thread = (await client.CreateThreadAsync()).Value;
        var ids = new List<string>();
        for (int i = 0; i < 25; i++)
        {
            ids.Add((await client.CreateMessageAsync(thread.Id, MessageRole.User, [MessageContent.FromText($"m{i}")])).Value.Id);
        }

        // The SDK's auto-pagination walks has_more/last_id across pages (default limit 20, desc).
        var all = new List<string>();
        await foreach (var m in client.GetMessagesAsync(thread.Id))
        {
            all.Add(m.Id);
        }

        Assert.Equal(Enumerable.Reverse(ids), all);

        using var http = Support.Http(fixture.Server);
        var page1 = (await Support.GetAsync(http, $"v1/threads/{thread.Id}/messages?limit=10&order=asc")).Body;
        Assert.Equal("list", page1.GetProperty("object").GetString());
        Assert.True(page1.GetProperty("has_more").GetBoolean());
        Assert.Equal(ids[0], page1.GetProperty("first_id").GetString());
        Assert.Equal(ids[9], page1.GetProperty("last_id").GetString());
        var page3 = (await Support.GetAsync(http, $"v1/threads/{thread.Id}/messages?limit=10&order=asc&after={ids[19]}")).Body;
        Assert.Equal(ids[20..], page3.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.False(page3.GetProperty("has_more").GetBoolean());
        var before = (await Support.GetAsync(http, $"v1/threads/{thread.Id}/messages?limit=3&order=asc&before={ids[10]}")).Body;
        Assert.Equal(ids[7..10], before.GetProperty("data").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
        Assert.True(before.GetProperty("has_more").GetBoolean());

        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var run = await Support.WaitAsync(client, (await client.CreateRunAsync(thread.Id, agent.Id)).Value);
        var byRun = (await Support.GetAsync(http, $"v1/threads/{thread.Id}/messages?run_id={run.Id}")).Body.GetProperty("data");
        var only = Assert.Single(byRun.EnumerateArray());
        Assert.Equal("assistant", only.GetProperty("role").GetString());
        Assert.Equal("[simulated gpt-4o-mini] You said: \"m24\"", only.GetProperty("content")[0].GetProperty("text").GetProperty("value").GetString());
        Assert.Equal(JsonValueKind.Array, only.GetProperty("content")[0].GetProperty("text").GetProperty("annotations").ValueKind);
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task Assistants_list_pages_through_the_sdk()
    {
        await using var server = await Support.StartFastAsync();
        var client = Support.Client(server, Shape.Project);
        var created = new List<string>();
        for (int i = 0; i < 23; i++)
        {
            created.Add((await client.CreateAssistantAsync("m", new AssistantCreationOptions { Name = $"a{i}" })).Value.Id);
        }

        var listed = new List<string>();
        await foreach (var a in client.GetAssistantsAsync(new AssistantCollectionOptions { Order = AssistantCollectionOrder.Ascending, PageSizeLimit = 5 }))
        {
            listed.Add(a.Id);
        }

        Assert.Equal(created, listed);
    }
}
