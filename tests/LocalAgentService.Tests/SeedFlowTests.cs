using OpenAI.Assistants;

namespace LocalAgentService.Tests;

/// <summary>The quickstart seed's flow, through the official SDK, on every route shape.</summary>
public sealed class SeedFlowTests(FastServer fixture) : IClassFixture<FastServer>
{
    [Theory]
    [InlineData(Shape.OpenAI)]
    [InlineData(Shape.Azure)]
    [InlineData(Shape.Project)]
    public async Task Seed_flow_completes_with_a_labelled_deterministic_joke(Shape shape)
    {
        var client = Support.Client(fixture.Server, shape);
        Assistant agent = await client.CreateAssistantAsync("gpt-4o-mini", new AssistantCreationOptions { Name = "my-agent", Instructions = "You are a helpful agent" });
        Assert.StartsWith("asst_", agent.Id);
        Assert.Equal("my-agent", agent.Name);
        Assert.Equal("You are a helpful agent", agent.Instructions);

        AssistantThread thread = await client.CreateThreadAsync();
        Assert.StartsWith("thread_", thread.Id);
        ThreadMessage message = await client.CreateMessageAsync(thread.Id, MessageRole.User, [MessageContent.FromText("Hello, tell me a joke")]);
        Assert.StartsWith("msg_", message.Id);

        ThreadRun run = await client.CreateRunAsync(thread.Id, agent.Id);
        Assert.StartsWith("run_", run.Id);
        Assert.Equal(RunStatus.Queued, run.Status);
        Assert.Null(run.Usage);

        run = await Support.WaitAsync(client, run);
        Assert.Equal(RunStatus.Completed, run.Status);
        Assert.NotNull(run.StartedAt);
        Assert.NotNull(run.CompletedAt);
        Assert.True(run.Usage!.TotalTokenCount > 0);
        Assert.Equal(run.Usage.InputTokenCount + run.Usage.OutputTokenCount, run.Usage.TotalTokenCount);

        var deleted = await client.DeleteAssistantAsync(agent.Id);
        Assert.True(deleted.Value.Deleted);

        var messages = new List<ThreadMessage>();
        await foreach (var m in client.GetMessagesAsync(thread.Id, new MessageCollectionOptions { Order = MessageCollectionOrder.Ascending }))
        {
            messages.Add(m);
        }

        Assert.Equal(2, messages.Count);
        Assert.Equal(MessageRole.User, messages[0].Role);
        Assert.Equal(MessageRole.Assistant, messages[1].Role);
        Assert.Equal(run.Id, messages[1].RunId);
        Assert.Equal(agent.Id, messages[1].AssistantId);
        string reply = messages[1].Content[0].Text;
        Assert.StartsWith("[simulated gpt-4o-mini] Here's a joke: ", reply);

        // Deterministic: the same text gives the same joke on another thread.
        AssistantThread again = await client.CreateThreadAsync(new ThreadCreationOptions { InitialMessages = { "Hello, tell me a joke" } });
        var agent2 = await client.CreateAssistantAsync("gpt-4o-mini");
        var run2 = await Support.WaitAsync(client, await client.CreateRunAsync(again.Id, agent2.Value.Id));
        await foreach (var m in client.GetMessagesAsync(again.Id, new MessageCollectionOptions { Order = MessageCollectionOrder.Descending }))
        {
            Assert.Equal(reply, m.Content[0].Text);
            break;
        }

        Assert.Equal(RunStatus.Completed, run2.Status);
        await client.DeleteAssistantAsync(agent2.Value.Id);
        await client.DeleteThreadAsync(thread.Id);
        await client.DeleteThreadAsync(again.Id);
    }

    [Theory]
    [InlineData(Shape.OpenAI)]
    [InlineData(Shape.Project)]
    public async Task Assistants_crud_and_thread_modify_round_trip(Shape shape)
    {
        var client = Support.Client(fixture.Server, shape);
        var created = (await client.CreateAssistantAsync("gpt-4o", new AssistantCreationOptions
        {
            Name = "crud",
            Tools = { Support.Function("lookup") },
            Metadata = { ["job"] = "42" },
        })).Value;
        var fetched = (await client.GetAssistantAsync(created.Id)).Value;
        Assert.Equal("gpt-4o", fetched.Model);
        Assert.Equal("lookup", Assert.IsType<FunctionToolDefinition>(Assert.Single(fetched.Tools)).FunctionName);
        Assert.Equal("42", fetched.Metadata["job"]);

        var modified = (await client.ModifyAssistantAsync(created.Id, new AssistantModificationOptions { Name = "renamed" })).Value;
        Assert.Equal("renamed", modified.Name);
        Assert.Equal("gpt-4o", modified.Model);

        var thread = (await client.CreateThreadAsync(new ThreadCreationOptions { Metadata = { ["a"] = "1" } })).Value;
        var thread2 = (await client.ModifyThreadAsync(thread.Id, new ThreadModificationOptions { Metadata = { ["a"] = "2" } })).Value;
        Assert.Equal("2", thread2.Metadata["a"]);
        Assert.Equal("2", (await client.GetThreadAsync(thread.Id)).Value.Metadata["a"]);

        Assert.True((await client.DeleteThreadAsync(thread.Id)).Value.Deleted);
        Assert.True((await client.DeleteAssistantAsync(created.Id)).Value.Deleted);
        var ex = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => client.GetAssistantAsync(created.Id));
        Assert.Equal(404, ex.Status);
    }

    [Fact]
    public async Task Create_thread_and_run_with_initial_messages_completes()
    {
        var client = Support.Client(fixture.Server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        ThreadRun run = await client.CreateThreadAndRunAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "Say something nice" } });
        run = await Support.WaitAsync(client, run);
        Assert.Equal(RunStatus.Completed, run.Status);
        await foreach (var m in client.GetMessagesAsync(run.ThreadId, new MessageCollectionOptions { Order = MessageCollectionOrder.Descending }))
        {
            Assert.Equal("[simulated gpt-4o-mini] You said: \"Say something nice\"", m.Content[0].Text);
            break;
        }

        await client.DeleteAssistantAsync(agent.Id);
    }
}
