using System.ClientModel;
using OpenAI.Assistants;

namespace LocalAgentService.Tests;

/// <summary>Asynchronous run states: background progress, poll hint, cancel, expiry, one active run per thread.</summary>
public sealed class RunLifecycleTests(FastServer fixture) : IClassFixture<FastServer>
{
    [Fact]
    public async Task Runs_progress_in_the_background_and_reads_carry_a_retry_after_ms_hint()
    {
        var client = Support.Client(fixture.Server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var run = (await client.CreateThreadAndRunAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "hi" } })).Value;

        // Nobody polls; the engine still completes the run.
        using var http = Support.Http(fixture.Server);
        await Support.WaitUntilAsync(async () => (await fixture.Server.GetStatsAsync()).ActiveRuns == 0, "background completion");
        var read = await Support.GetAsync(http, $"v1/threads/{run.ThreadId}/runs/{run.Id}");
        Assert.Equal("completed", read.Body.GetProperty("status").GetString());
        Assert.True(int.TryParse(Assert.Single(read.Response.Headers.GetValues("retry-after-ms")), out int hint) && hint > 0);
        Assert.Equal(System.Text.Json.JsonValueKind.Null, read.Body.GetProperty("expires_at").ValueKind);
        Assert.Equal("thread.run", read.Body.GetProperty("object").GetString());

        var created = await Support.PostAsync(http, $"v1/threads/{run.ThreadId}/runs", new { assistant_id = agent.Id });
        Assert.Equal("queued", created.Body.GetProperty("status").GetString());
        Assert.True(created.Body.GetProperty("expires_at").GetInt64() >= created.Body.GetProperty("created_at").GetInt64());
        Assert.True(created.Response.Headers.Contains("retry-after-ms"));
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task Only_one_active_run_per_thread()
    {
        var client = Support.Client(fixture.Server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini", new AssistantCreationOptions { Tools = { Support.Function("wait_tool") } })).Value;
        var thread = (await client.CreateThreadAsync(new ThreadCreationOptions { InitialMessages = { "call wait_tool" } })).Value;
        var first = (await client.CreateRunAsync(thread.Id, agent.Id)).Value;
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => client.CreateRunAsync(thread.Id, agent.Id));
        Assert.Equal(400, ex.Status);
        Assert.Contains($"already has an active run {first.Id}", ex.Message);

        first = await Support.WaitAsync(client, first);
        Assert.Equal(RunStatus.RequiresAction, first.Status);
        await Assert.ThrowsAsync<ClientResultException>(() => client.CreateRunAsync(thread.Id, agent.Id));

        await client.CancelRunAsync(thread.Id, first.Id);
        await Support.WaitAsync(client, first, "cancelled");
        var second = await Support.WaitAsync(client, (await client.CreateRunAsync(thread.Id, agent.Id)).Value);
        Assert.Equal(RunStatus.RequiresAction, second.Status);

        var runs = new List<ThreadRun>();
        await foreach (var r in client.GetRunsAsync(thread.Id))
        {
            runs.Add(r);
        }

        Assert.Equal([second.Id, first.Id], runs.Select(r => r.Id));
        await client.DeleteThreadAsync(thread.Id);
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task Cancel_goes_through_cancelling_to_cancelled()
    {
        var client = Support.Client(fixture.Server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini", new AssistantCreationOptions { Tools = { Support.Function("slow") } })).Value;
        var run = await Support.WaitAsync(client, (await client.CreateThreadAndRunAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "slow please" } })).Value);
        Assert.Equal(RunStatus.RequiresAction, run.Status);

        var cancelling = (await client.CancelRunAsync(run.ThreadId, run.Id)).Value;
        Assert.Equal(RunStatus.Cancelling, cancelling.Status);
        var cancelled = await Support.WaitAsync(client, run, "cancelled");
        Assert.NotNull(cancelled.CancelledAt);
        Assert.NotNull(cancelled.Usage);

        await foreach (var step in client.GetRunStepsAsync(run.ThreadId, run.Id))
        {
            Assert.Equal(RunStepStatus.Cancelled, step.Status);
        }

        var again = await Assert.ThrowsAsync<ClientResultException>(() => client.CancelRunAsync(run.ThreadId, run.Id));
        Assert.Equal(400, again.Status);

        // A queued run can be cancelled too, and the thread accepts messages afterwards.
        var queued = (await client.CreateRunAsync(run.ThreadId, agent.Id)).Value;
        Assert.Equal(RunStatus.Cancelling, (await client.CancelRunAsync(queued.ThreadId, queued.Id)).Value.Status);
        await Support.WaitAsync(client, queued, "cancelled");
        await client.CreateMessageAsync(run.ThreadId, MessageRole.User, [MessageContent.FromText("after cancel")]);
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task A_run_waiting_for_tool_outputs_past_expires_at_expires()
    {
        await using var server = await Support.StartFastAsync(o => o.Simulation.ExpiresAfterMs = 1500);
        var client = Support.Client(server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini", new AssistantCreationOptions { Tools = { Support.Function("lookup") } })).Value;
        var run = await Support.WaitAsync(client, (await client.CreateThreadAndRunAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "lookup" } })).Value);
        Assert.Equal(RunStatus.RequiresAction, run.Status);
        Assert.NotNull(run.ExpiresAt);

        var expired = await Support.WaitAsync(client, run, "expired");
        Assert.Empty(expired.RequiredActions);
        var late = await Assert.ThrowsAsync<ClientResultException>(() =>
            client.SubmitToolOutputsToRunAsync(run.ThreadId, run.Id, [new ToolOutput(run.RequiredActions[0].ToolCallId, "late")]));
        Assert.Equal(400, late.Status);
        await foreach (var step in client.GetRunStepsAsync(run.ThreadId, run.Id))
        {
            Assert.Equal(RunStepStatus.Expired, step.Status);
        }

        Assert.Equal(0, (await server.GetStatsAsync()).ActiveRuns);
    }

    [Fact]
    public async Task Max_completion_tokens_ends_the_run_incomplete()
    {
        var client = Support.Client(fixture.Server, Shape.OpenAI);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var thread = (await client.CreateThreadAsync(new ThreadCreationOptions { InitialMessages = { "Hello, tell me a joke" } })).Value;
        var run = await Support.WaitAsync(client, (await client.CreateRunAsync(thread.Id, agent.Id, new RunCreationOptions { MaxOutputTokenCount = 3 })).Value);
        Assert.Equal(RunStatus.Incomplete, run.Status);
        Assert.Equal("max_completion_tokens", run.IncompleteDetails.Reason.ToString());
        Assert.Equal(12, (await ToolCallTests.LatestTextAsync(client, thread.Id, run.Id)).Length);
        await client.DeleteAssistantAsync(agent.Id);
    }
}
