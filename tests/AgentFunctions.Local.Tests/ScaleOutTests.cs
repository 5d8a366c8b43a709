using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using AgentFunctions.Local.Tests.Support;
using AgentJobs.Hosting;
using LocalAgentService;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// Two <c>serve --storage</c> processes on one Azurite task hub, sharing one agent service: both take work (each
/// holds control-queue partitions and runs activities), and when one is killed mid-way the other takes its
/// partitions and finishes every job, deleting every agent.
/// </summary>
public sealed partial class ScaleOutTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    const int Jobs = 100;
    // The provider's 30 s would add up to 40 s to the fail-over. Shorter than the 15 s a dead process's dequeued
    // messages stay hidden gains little, and renewals every 2 s (a 6 s lease) were missed on a busy 2-core machine.
    const int PartitionLeaseSeconds = 15;
    static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(40);
    static readonly object FastPolling = new { initialDelayMs = 200, maxDelayMs = 800, pollsPerGeneration = 3 };

    [Fact]
    public async Task Two_serve_processes_share_a_task_hub_and_the_survivor_finishes_every_job_when_one_is_killed()
    {
        var storage = azurite.ConnectionString;
        var hub = "scale" + Guid.NewGuid().ToString("N")[..12];
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions
        {
            ApiKey = "scale-key",
            Simulation = { QueuedMs = 0, InProgressMs = 300 },
        });
        string[] Args(string worker) =>
        [
            "--storage", storage, "--task-hub", hub, "--worker-id", worker, "--partition-lease", $"{PartitionLeaseSeconds}",
            "--endpoint", service.OpenAIEndpoint.ToString(), "--api-key", "scale-key",
        ];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        await using var survivor = await ServeProcess.StartAsync(StartTimeout, Args("worker-a"));
        await using var victim = await ServeProcess.StartAsync(StartTimeout, Args("worker-b"));

        // worker-a took all four partitions first; worker-b steals two of them.
        await WaitForPartitionsAsync(storage, hub, owners => owners.Count(o => o == "worker-a") == 2 && owners.Count(o => o == "worker-b") == 2,
            TimeSpan.FromSeconds(90), "balanced 2/2 between worker-a and worker-b"); // a steal waits for lease renewals, slow on a busy machine

        // Half the jobs to each process's API (either one can schedule any job; the partition decides who runs it).
        var ids = await Task.WhenAll(Enumerable.Range(0, Jobs).Select(async i =>
        {
            var serve = i % 2 == 0 ? survivor : victim;
            using var posted = await http.PostAsJsonAsync(new Uri(serve.BaseAddress, "api/agent-jobs"), new { prompt = $"Hello {i}", polling = FastPolling });
            Assert.True(posted.IsSuccessStatusCode, $"POST answered {posted.StatusCode}: {await posted.Content.ReadAsStringAsync()}");
            return (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        }));

        // Both processes ran work: each logged agents it deleted (activities come from the shared work-item queue),
        // while each held two partitions (orchestrations of those control queues run only there).
        var deadline = DateTime.UtcNow.AddSeconds(120); // generous: a 2-core machine shared with other builds is slow
        while (!(Deleted(survivor) > 0 && Deleted(victim) > 0 && (await service.GetStatsAsync()).AssistantsDeleted >= 10))
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"Not both processes deleted agents: worker-a {Deleted(survivor)}, worker-b {Deleted(victim)}; service {await service.GetStatsAsync()}; " +
                $"partitions {string.Join(", ", await AzureStoragePartitions.ReadAsync(storage, hub))}.\nworker-a output: {Tail(survivor)}\nworker-b output: {Tail(victim)}");
            await Task.Delay(100);
        }

        var owners = (await AzureStoragePartitions.ReadAsync(storage, hub)).Select(p => p.Owner).ToList();
        await victim.KillAsync();
        var killed = Stopwatch.StartNew();
        var before = await service.GetStatsAsync();
        var log = TestContext.Current.TestOutputHelper;
        log?.WriteLine($"killed worker-b with {before.AssistantsDeleted} jobs done, {before.Assistants} agents live; " +
                       $"agents deleted by worker-a {Deleted(survivor)}, by worker-b {Deleted(victim)}; partitions {string.Join(", ", owners)}");
        Assert.Equal(2, owners.Count(o => o == "worker-b"));
        Assert.True(Jobs - before.AssistantsDeleted >= Jobs / 4, $"only {Jobs - before.AssistantsDeleted} jobs were still running when worker-b was killed");

        // The survivor claims worker-b's partitions once their leases expire.
        await WaitForPartitionsAsync(storage, hub, o => o.Count(x => x == "worker-a") == 4, TimeSpan.FromSeconds(4 * PartitionLeaseSeconds), "all four held by worker-a");
        log?.WriteLine($"worker-a held all four partitions {killed.Elapsed.TotalSeconds:0.0} s after the kill");

        // Every job, including those submitted to worker-b and those it was running, completes through worker-a. The
        // service's count is the cheap signal to wait on; each job's status is read once they are all done.
        deadline = DateTime.UtcNow.AddSeconds(180);
        while ((await service.GetStatsAsync()).AssistantsDeleted < Jobs && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }

        var statuses = await Task.WhenAll(ids.Select(id => WaitForEndAsync(http, survivor, id, TimeSpan.FromSeconds(30))));
        log?.WriteLine($"all {Jobs} jobs ended {killed.Elapsed.TotalSeconds:0.0} s after the kill");
        Assert.All(statuses, status =>
        {
            Assert.True(status.GetProperty("runtimeStatus").GetString() == "Completed", $"job ended {status}");
            Assert.Equal("Completed", status.GetProperty("result").GetProperty("outcome").GetString());
            Assert.True(status.GetProperty("result").GetProperty("agentDeleted").GetBoolean(), $"agent not deleted: {status}");
        });

        var stats = await service.GetStatsAsync();
        Assert.Equal(0, stats.Assistants);
        Assert.Equal(0, stats.Agents);
        Assert.Equal(Jobs, stats.AssistantsCreated); // a step the dead process had started ran again with the same idempotency key
        Assert.Equal(stats.AssistantsCreated, stats.AssistantsDeleted);
    }

    static string Tail(ServeProcess serve) => serve.Output[^Math.Min(serve.Output.Length, 6000)..];

    /// <summary>"Agent asst_… deleted." lines a serve process logged: the DeleteAgent activities it ran.</summary>
    static int Deleted(ServeProcess serve) => AgentDeleted().Count(serve.Output);

    [GeneratedRegex(@"Agent \S+ deleted\.")]
    private static partial Regex AgentDeleted();

    static async Task WaitForPartitionsAsync(string storage, string hub, Func<IReadOnlyList<string?>, bool> condition, TimeSpan timeout, string expected)
    {
        var deadline = DateTime.UtcNow + timeout;
        IReadOnlyList<string?> owners = [];
        while (DateTime.UtcNow < deadline)
        {
            var now = DateTimeOffset.UtcNow;
            owners = [.. (await AzureStoragePartitions.ReadAsync(storage, hub)).Select(p => p.IsHeldAt(now) ? p.Owner : null)];
            if (owners.Count == 4 && condition(owners))
            {
                return;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"The partitions of {hub} were not {expected} within {timeout}: {string.Join(", ", owners.Select(o => o ?? "(none)"))}");
    }

    static async Task<JsonElement> WaitForEndAsync(HttpClient http, ServeProcess serve, string id, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "(no answer)";
        while (DateTime.UtcNow < deadline)
        {
            using var response = await http.GetAsync(new Uri(serve.BaseAddress, $"api/agent-jobs/{id}"));
            last = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode)
            {
                var status = JsonDocument.Parse(last).RootElement.Clone();
                if (status.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated")
                {
                    return status;
                }
            }

            await Task.Delay(1000);
        }

        throw new TimeoutException($"Job {id} did not end within {timeout}. Last status: {last}");
    }
}
