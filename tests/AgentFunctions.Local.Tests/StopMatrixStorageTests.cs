using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;
using LocalAgentService;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// A slice of issue 19's stop matrix (the whole matrix runs in memory: AgentJobs.Tests' StopMatrixTests) on the Azure
/// Storage provider against Azurite, through <c>serve --storage</c> and its HTTP API, on both protocols: a cancel while
/// polling, the deadline while polling, an approval timeout that cancels, and a session ended (DELETE) while its turn
/// runs. Each cell checks the matrix's invariants: terminal within the bound, the stop's outcome and reason, the agent
/// deleted, every approvalRequested closed and the event stream ending with result, and a follow-up job on the thread
/// completing. The cells of a protocol run at once on one <c>serve</c>.
/// </summary>
public sealed class StopMatrixStorageTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    /// <summary>From the stop to a terminal job on Azurite (queue polling, whole-second timers): a bound, not a measurement.</summary>
    const double BoundSeconds = 30;

    static readonly object Polled = new { initialDelayMs = 200, maxDelayMs = 800, streamWindowSeconds = 0 };

    [Theory]
    [InlineData("classic")]
    [InlineData("foundry")]
    public async Task A_slice_of_the_stop_matrix_keeps_its_invariants_on_azure_storage(string protocol)
    {
        var storage = azurite.ConnectionString;
        await using var model = await FakeChatModel.StartAsync();
        var options = new LocalAgentServerOptions { ApiKey = "matrix-key", Simulation = { QueuedMs = 0, InProgressMs = 100 } };
        options.Models["slow"] = new ModelEndpointOptions { Kind = ModelKinds.OpenAICompatible, Endpoint = model.Endpoint, ApiKey = "fake" };
        await using var service = await LocalAgentServer.StartAsync(options, TestContext.Current.CancellationToken);
        await using var serve = await ServeProcess.StartAsync(TimeSpan.FromSeconds(60),
            "--storage", storage, "--task-hub", $"matrix{protocol}{Guid.NewGuid():N}"[..24], "--protocol", protocol,
            "--endpoint", (protocol == "foundry" ? service.ProjectEndpoint : service.OpenAIEndpoint).ToString(), "--api-key", "matrix-key");
        using var http = new HttpClient { BaseAddress = serve.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        var slow = FakeChatModel.SlowMarker + " think";

        var cells = new List<(string Name, Task<string?> Problem)>
        {
            ("Polling×Cancel", JobCellAsync(http, new { prompt = slow, model = "slow", polling = Polled }, "Cancelled", "CancelRequested",
                until: s => Phase(s) == "Polling", stop: id => http.PostAsJsonAsync($"api/agent-jobs/{id}/cancel", new { reason = "matrix" }))), // JSON, as every POST declares
            ("AwaitingApproval×ApprovalTimeoutCancel", JobCellAsync(http, new
                {
                    prompt = "Please use calculate with {\"expression\": \"6 * 7\"}", tools = new[] { "calculate" }, polling = Polled,
                    approval = new { tools = new[] { "calculate" }, timeoutSeconds = 2, onTimeout = "cancel" },
                }, "Cancelled", "ApprovalTimedOut", until: s => Phase(s) == "AwaitingApproval", stop: null)),
            ("Session turn Polling×EndSession", SessionCellAsync(http, slow)),
        };
        if (protocol == "foundry")
        {
            // 10 s: long enough that a loaded machine still reaches Polling (and a thread) before the deadline; 4 s
            // once let the deadline land while the thread was being created, which is a different cell.
            cells.Add(("Polling×Deadline", JobCellAsync(http, new { prompt = slow, model = "slow", polling = Polled, maxDurationSeconds = 10 }, "TimedOut", "DeadlinePassed",
                until: s => Phase(s) == "Polling", stop: null)));
        }

        await Task.WhenAll(cells.Select(c => c.Problem));
        foreach (var (name, problem) in cells)
        {
            TestContext.Current.SendDiagnosticMessage($"{protocol} {name}: {(await problem) ?? "ok"}");
        }

        Assert.Empty(cells.Where(c => c.Problem.Result is not null).Select(c => $"{c.Name}: {c.Problem.Result}"));
        Assert.Equal(0, (await service.GetStatsAsync()).Assistants);
    }

    static string? Phase(JsonElement status) =>
        status.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object ? p.GetProperty("phase").GetString() : null;

    /// <summary>One job cell: start it, wait for its phase, stop it (or let its own stop come), check the invariants.</summary>
    static async Task<string?> JobCellAsync(HttpClient http, object job, string outcome, string reason, Func<JsonElement, bool> until, Func<string, Task<HttpResponseMessage>>? stop)
    {
        using var posted = await http.PostAsJsonAsync("api/agent-jobs", job);
        var id = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await PollAsync(http, $"api/agent-jobs/{id}", s => until(s) || s.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed", TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        if (stop is not null)
        {
            using var stopped = await stop(id);
            if (stopped.StatusCode != HttpStatusCode.Accepted)
            {
                return $"the stop answered {(int)stopped.StatusCode}";
            }
        }

        var done = await PollAsync(http, $"api/agent-jobs/{id}", s => s.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated", TimeSpan.FromSeconds(90));
        var seconds = clock.Elapsed.TotalSeconds;
        var result = done.GetProperty("result");
        var slack = stop is null ? 5 : 0; // a stop of its own (deadline, approval timeout) comes a few seconds after the phase is seen
        return seconds > BoundSeconds + slack ? $"terminal {seconds:0.0} s after the stop (bound {BoundSeconds} s)"
            : result.GetProperty("outcome").GetString() != outcome ? $"outcome {result.GetProperty("outcome")}, expected {outcome}"
            : result.GetProperty("stop").GetProperty("reason").GetString() != reason ? $"stop {result.GetProperty("stop")}, expected {reason}"
            : !result.GetProperty("agentDeleted").GetBoolean() ? "agent not deleted"
            : await EventsProblemAsync(http, id) ?? await FollowUpProblemAsync(http, result.GetProperty("threadId").GetString());
    }

    /// <summary>A session (thread kept) whose running turn is stopped by DELETE.</summary>
    static async Task<string?> SessionCellAsync(HttpClient http, string slowPrompt)
    {
        using var created = await http.PostAsJsonAsync("api/agent-sessions", new { model = "slow", keepThread = true, polling = Polled });
        var session = await created.Content.ReadFromJsonAsync<JsonElement>();
        if (created.StatusCode != HttpStatusCode.Created)
        {
            return $"POST session answered {(int)created.StatusCode}: {session}";
        }

        var id = session.GetProperty("id").GetString()!;
        using (var sent = await http.PostAsJsonAsync($"api/agent-sessions/{id}/turns", new { prompt = slowPrompt }))
        {
            if (sent.StatusCode != HttpStatusCode.Accepted)
            {
                return $"POST turn answered {(int)sent.StatusCode}";
            }
        }

        await PollAsync(http, $"api/agent-sessions/{id}/turns/1", t => t.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object && p.GetProperty("phase").GetString() == "Polling", TimeSpan.FromSeconds(60));
        var clock = Stopwatch.StartNew();
        using (var deleted = await http.DeleteAsync($"api/agent-sessions/{id}"))
        {
            if (deleted.StatusCode != HttpStatusCode.Accepted)
            {
                return $"DELETE answered {(int)deleted.StatusCode}";
            }
        }

        var turn = await PollAsync(http, $"api/agent-sessions/{id}/turns/1", t => t.GetProperty("runtimeStatus").GetString() == "Completed", TimeSpan.FromSeconds(90));
        var seconds = clock.Elapsed.TotalSeconds;
        var ended = (await PollAsync(http, $"api/agent-sessions/{id}", s => s.GetProperty("status").GetString() == "ended", TimeSpan.FromSeconds(90))).GetProperty("ended");
        var outcome = turn.GetProperty("result").GetProperty("outcome").GetString();
        return seconds > BoundSeconds ? $"turn terminal {seconds:0.0} s after DELETE (bound {BoundSeconds} s)"
            : outcome != "Cancelled" ? $"turn outcome {outcome}, expected Cancelled"
            : !ended.GetProperty("agentDeleted").GetBoolean() ? "session agent not deleted"
            : await FollowUpProblemAsync(http, ended.GetProperty("threadId").GetString());
    }

    static async Task<string?> EventsProblemAsync(HttpClient http, string id)
    {
        using var response = await http.GetAsync($"api/agent-jobs/{id}/events");
        var events = (await response.Content.ReadAsStringAsync()).Split('\n')
            .Where(l => l.StartsWith("event: ", StringComparison.Ordinal)).Select(l => l[7..].Trim()).ToList();
        var requested = events.Count(e => e == "approvalRequested");
        var decided = events.Count(e => e == "approvalDecided");
        return events.Count == 0 || events[^1] != "result" ? $"the event stream ends with {(events.Count == 0 ? "nothing" : events[^1])}"
            : requested != decided ? $"{requested} approvalRequested but {decided} approvalDecided"
            : null;
    }

    static async Task<string?> FollowUpProblemAsync(HttpClient http, string? threadId)
    {
        if (threadId is null)
        {
            return "no thread to follow up on";
        }

        using var posted = await http.PostAsJsonAsync("api/agent-jobs", new { prompt = "Hello again", threadId, polling = Polled });
        var id = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var done = await PollAsync(http, $"api/agent-jobs/{id}", s => s.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed", TimeSpan.FromSeconds(90));
        var outcome = done.GetProperty("result").GetProperty("outcome").GetString();
        return outcome == "Completed" ? null : $"a follow-up job on {threadId} ended {outcome}: {done.GetProperty("result")}";
    }

    static async Task<JsonElement> PollAsync(HttpClient http, string path, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        var last = "";
        while (DateTime.UtcNow < until)
        {
            using var response = await http.GetAsync(path);
            last = await response.Content.ReadAsStringAsync();
            if (response.IsSuccessStatusCode && JsonDocument.Parse(last).RootElement.Clone() is var element && condition(element))
            {
                return element;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"GET {path} did not reach the expected state in {timeout.TotalSeconds:0} s. Last: {last}");
    }
}
