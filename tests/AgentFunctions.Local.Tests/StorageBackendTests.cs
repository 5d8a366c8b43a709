using System.Net.Http.Json;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;
using LocalAgentService;

namespace AgentFunctions.Local.Tests;

/// <summary>Starts Azurite once for <see cref="StorageBackendTests"/> (installing it if needed).</summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    public Azurite? Azurite { get; private set; }

    /// <summary>The connection string, or a skip when Node.js/npm is not installed.</summary>
    public string ConnectionString
    {
        get
        {
            if (Azurite is null)
            {
                Assert.Skip(Support.Azurite.UnavailableReason ?? "Azurite is unavailable.");
            }

            return Azurite!.ConnectionString;
        }
    }

    public async ValueTask InitializeAsync() => Azurite = await Support.Azurite.StartAsync();

    public async ValueTask DisposeAsync()
    {
        if (Azurite is not null)
        {
            await Azurite.DisposeAsync();
        }
    }
}

/// <summary>
/// The persistent backend (Azure Storage provider behind the gRPC sidecar) against Azurite: a whole job with its
/// run poller's sub-orchestration and continue-as-new, and a job that survives a crash of the <c>serve</c> process.
/// </summary>
public sealed class StorageBackendTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(40);

    // Short polls and three per poller generation, so the job runs several sub-orchestration generations.
    static readonly object FastPolling = new { initialDelayMs = 200, maxDelayMs = 800, pollsPerGeneration = 3 };

    [Fact]
    public async Task Run_with_storage_completes_a_job_and_deletes_the_agent()
    {
        var storage = azurite.ConnectionString;

        var output = await LocalCli.RunAsync(TimeSpan.FromSeconds(60), null,
            "run", "Hello", "--storage", storage, "--task-hub", TaskHub("run"), "--simulated-run-ms", "1500", "--json");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        using var json = JsonDocument.Parse(output.StdOut);
        Assert.Equal("Completed", json.RootElement.GetProperty("outcome").GetString());
        Assert.True(json.RootElement.GetProperty("agentDeleted").GetBoolean());
    }

    [Fact]
    public async Task A_job_survives_a_killed_serve_process_and_completes_after_the_restart()
    {
        var storage = azurite.ConnectionString;
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions
        {
            ApiKey = "restart-key",
            Simulation = { QueuedMs = 0, InProgressMs = 8_000 },
        });
        string[] args =
        [
            "--storage", storage, "--task-hub", TaskHub("restart"),
            "--endpoint", service.OpenAIEndpoint.ToString(), "--api-key", "restart-key",
        ];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        string id;
        var first = await ServeProcess.StartAsync(StartTimeout, args);
        await using (first)
        {
            using var posted = await http.PostAsJsonAsync(new Uri(first.BaseAddress, "api/agent-jobs"), new { prompt = "Hello", polling = FastPolling });
            Assert.True(posted.IsSuccessStatusCode, $"POST answered {posted.StatusCode}: {await posted.Content.ReadAsStringAsync()}");
            id = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

            // Polling, with the run still in progress: the poller sub-orchestration is under way.
            await WaitForAsync(http, first, id, TimeSpan.FromSeconds(30), status =>
                status.GetProperty("progress") is { ValueKind: JsonValueKind.Object } progress &&
                progress.GetProperty("phase").GetString() == "Polling" &&
                progress.GetProperty("polls").GetInt32() >= 2);
            await first.KillAsync();
        }

        Assert.Equal(1, (await service.GetStatsAsync()).Assistants); // the job's agent, not yet deleted

        await using var second = await ServeProcess.StartAsync(StartTimeout, args);
        var done = await WaitForAsync(http, second, id, TimeSpan.FromSeconds(60), status =>
            status.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated");

        Assert.True(done.GetProperty("runtimeStatus").GetString() == "Completed", $"job ended {done}; serve output: {second.Output}");
        var result = done.GetProperty("result");
        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
        var stats = await service.GetStatsAsync();
        Assert.Equal(0, stats.Assistants);
        Assert.Equal(1, stats.AssistantsCreated);
        Assert.Equal(stats.AssistantsCreated, stats.AssistantsDeleted);
    }

    static string TaskHub(string prefix) => prefix + Guid.NewGuid().ToString("N")[..12];

    static async Task<JsonElement> WaitForAsync(HttpClient http, ServeProcess serve, string id, TimeSpan timeout, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow + timeout;
        var last = "(no answer)";
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var response = await http.GetAsync(new Uri(serve.BaseAddress, $"api/agent-jobs/{id}"));
                last = await response.Content.ReadAsStringAsync();
                if (response.IsSuccessStatusCode)
                {
                    var status = JsonDocument.Parse(last).RootElement.Clone();
                    if (condition(status))
                    {
                        return status;
                    }
                }
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"Job {id} did not reach the expected state in {timeout}. Last status: {last}. Serve output: {serve.Output}");
    }
}
