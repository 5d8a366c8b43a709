using System.ClientModel;
using OpenAI.Assistants;

namespace LocalAgentService.Tests;

/// <summary>Hundreds of parallel runs leave consistent stats; the API key guards every route but /health.</summary>
public sealed class ConcurrencyAndAuthTests
{
    [Fact]
    public async Task Hundreds_of_parallel_runs_complete_and_cleanup_leaves_no_leaks()
    {
        await using var server = await Support.StartFastAsync();
        var client = Support.Client(server, Shape.OpenAI);
        const int Runs = 300;
        var runs = new ThreadRun[Runs];
        var agents = new string[Runs / 10];
        await Parallel.ForAsync(0, agents.Length, async (i, ct) => agents[i] = (await client.CreateAssistantAsync("gpt-4o-mini", null, ct)).Value.Id);
        await Parallel.ForAsync(0, Runs, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
            runs[i] = (await client.CreateThreadAndRunAsync(agents[i % agents.Length], new ThreadCreationOptions { InitialMessages = { $"message {i}" } }, null, ct)).Value);

        await Support.WaitUntilAsync(async () => (await server.GetStatsAsync()).ActiveRuns == 0, "all runs to finish", 60);
        var stats = await server.GetStatsAsync();
        Assert.Equal(Runs, stats.Runs["completed"]);
        Assert.Equal(Runs, stats.RunsCreated);
        Assert.Equal(Runs, stats.Threads);

        await Parallel.ForAsync(0, Runs, new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var run = (await client.GetRunAsync(runs[i].ThreadId, runs[i].Id, ct)).Value;
            Assert.Equal(RunStatus.Completed, run.Status);
            Assert.Equal($"[simulated gpt-4o-mini] You said: \"message {i}\"", await ToolCallTests.LatestTextAsync(client, run.ThreadId, run.Id));
            await client.DeleteThreadAsync(run.ThreadId, ct);
        });
        await Parallel.ForEachAsync(agents, async (id, ct) => await client.DeleteAssistantAsync(id, ct));

        stats = await server.GetStatsAsync();
        Assert.Equal(0, stats.Assistants);
        Assert.Equal(0, stats.Threads);
        Assert.Equal(0, stats.ActiveRuns);
        Assert.Equal(stats.AssistantsCreated, stats.AssistantsDeleted);
        Assert.Equal(stats.ThreadsCreated, stats.ThreadsDeleted);

        using var http = Support.Http(server);
        var wire = (await Support.GetAsync(http, "admin/stats")).Body;
        Assert.Equal(0, wire.GetProperty("assistants").GetInt32());
        Assert.Equal(agents.Length, wire.GetProperty("assistants_deleted").GetInt64());
    }

    [Fact]
    public async Task Api_key_is_required_when_configured()
    {
        await using var server = await Support.StartFastAsync(o => o.ApiKey = "s3cret");
        var wrong = Support.Client(server, Shape.OpenAI, key: "nope");
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => wrong.CreateAssistantAsync("m"));
        Assert.Equal(401, ex.Status);

        var bearer = Support.Client(server, Shape.OpenAI, key: "s3cret");
        Assert.StartsWith("asst_", (await bearer.CreateAssistantAsync("m")).Value.Id);
        var azureStyle = Support.Client(server, Shape.Azure, key: "s3cret"); // api-key header
        Assert.NotEmpty(await ToListAsync(azureStyle.GetAssistantsAsync()));

        using var http = Support.Http(server);
        Support.AssertError(401, await Support.GetAsync(http, "v1/assistants"));
        Support.AssertError(401, await Support.GetAsync(http, "admin/stats"));
        Assert.Equal(200, (await Support.GetAsync(http, "health")).Status);
        http.DefaultRequestHeaders.Add("api-key", "s3cret");
        Assert.Equal(200, (await Support.GetAsync(http, "admin/stats")).Status);
    }

    private static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
