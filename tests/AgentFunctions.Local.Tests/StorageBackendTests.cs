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
    // Stream window 0: these tests are about the durable-timer poller (its generations, its restarts), so the run is polled.
    static readonly object FastPolling = new { initialDelayMs = 200, maxDelayMs = 800, pollsPerGeneration = 3, streamWindowSeconds = 0 };

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

    /// <summary>
    /// Idempotency keys live in the task hub (the job's id is derived from the key), so a client that retries after the
    /// server crashed and came back gets the job its first request made, and a different body with that key 422.
    /// </summary>
    [Fact]
    public async Task An_idempotency_key_survives_a_killed_serve_process()
    {
        var storage = azurite.ConnectionString;
        string[] args = ["--storage", storage, "--task-hub", TaskHub("idem"), "--simulated-run-ms", "200"];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var key = Guid.NewGuid().ToString();
        var body = new { prompt = "Hello, tell me a joke", polling = FastPolling };

        async Task<HttpResponseMessage> PostAsync(ServeProcess serve, object job)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(serve.BaseAddress, "api/agent-jobs")) { Content = JsonContent.Create(job) };
            request.Headers.Add("Idempotency-Key", key);
            return await http.SendAsync(request, TestContext.Current.CancellationToken);
        }

        string id;
        var first = await ServeProcess.StartAsync(StartTimeout, args);
        await using (first)
        {
            using var posted = await PostAsync(first, body);
            Assert.True(posted.StatusCode == System.Net.HttpStatusCode.Accepted, $"POST answered {posted.StatusCode}: {await posted.Content.ReadAsStringAsync()}");
            id = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            await first.KillAsync();
        }

        await using var second = await ServeProcess.StartAsync(StartTimeout, args);
        using (var retried = await PostAsync(second, body))
        {
            Assert.True(retried.StatusCode == System.Net.HttpStatusCode.Accepted, $"retry answered {retried.StatusCode}: {await retried.Content.ReadAsStringAsync()}");
            Assert.Equal(id, (await retried.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        }

        using (var other = await PostAsync(second, new { prompt = "Something else", polling = FastPolling }))
        {
            Assert.Equal(422, (int)other.StatusCode);
        }

        var done = await WaitForAsync(http, second, id, TimeSpan.FromSeconds(60), status =>
            status.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated");
        Assert.Equal("Completed", done.GetProperty("runtimeStatus").GetString());
        using var list = await http.GetAsync(new Uri(second.BaseAddress, "api/agent-jobs"), TestContext.Current.CancellationToken);
        Assert.Single((await list.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("jobs").EnumerateArray());
    }

    [Fact]
    public async Task A_session_survives_a_killed_serve_process_between_turns_and_keeps_its_thread()
    {
        var storage = azurite.ConnectionString;
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions
        {
            ApiKey = "session-key",
            Simulation = { QueuedMs = 0, InProgressMs = 300 },
        });
        string[] args =
        [
            "--storage", storage, "--task-hub", TaskHub("session"),
            "--endpoint", service.OpenAIEndpoint.ToString(), "--api-key", "session-key",
        ];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };

        async Task<JsonElement> SessionAsync(ServeProcess serve, string id, Func<JsonElement, bool> condition)
        {
            var until = DateTime.UtcNow.AddSeconds(90);
            string last = "";
            while (DateTime.UtcNow < until)
            {
                using var response = await http.GetAsync(new Uri(serve.BaseAddress, $"api/agent-sessions/{id}"));
                last = await response.Content.ReadAsStringAsync();
                if (response.IsSuccessStatusCode && JsonDocument.Parse(last).RootElement.Clone() is var session && condition(session))
                {
                    return session;
                }

                await Task.Delay(250);
            }

            throw new TimeoutException($"Session {id} did not reach the expected state. Last: {last}. Serve output: {serve.Output}");
        }

        static int Finished(JsonElement s) => s.GetProperty("turns").EnumerateArray().Count(t => t.GetProperty("runtimeStatus").GetString() == "Completed");

        string id, threadId, startedAt;
        var first = await ServeProcess.StartAsync(StartTimeout, args);
        await using (first)
        {
            // Two turns sent the moment the session exists: on this provider events raised that early can be
            // discarded, so turns live in the session's durable mailbox instead.
            using var created = await http.PostAsJsonAsync(new Uri(first.BaseAddress, "api/agent-sessions"), new { polling = FastPolling });
            var body = await created.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(created.StatusCode == System.Net.HttpStatusCode.Created, $"POST answered {created.StatusCode}: {body}");
            id = body.GetProperty("id").GetString()!;
            startedAt = (await SessionAsync(first, id, _ => true)).GetProperty("createdAt").GetString()!;
            foreach (var prompt in new[] { "first message alpha", "second message beta" })
            {
                using var sent = await http.PostAsJsonAsync(new Uri(first.BaseAddress, $"api/agent-sessions/{id}/turns"), new { prompt });
                Assert.Equal(System.Net.HttpStatusCode.Accepted, sent.StatusCode);
            }

            var session = await SessionAsync(first, id, s => Finished(s) == 2);
            threadId = session.GetProperty("threadId").GetString()!;
            await first.KillAsync();
        }

        await using var second = await ServeProcess.StartAsync(StartTimeout, args);
        using (var sent = await http.PostAsJsonAsync(new Uri(second.BaseAddress, $"api/agent-sessions/{id}/turns"), new { prompt = "third message gamma" }))
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, sent.StatusCode);
        }

        var after = await SessionAsync(second, id, s => Finished(s) == 3);
        var replies = after.GetProperty("turns").EnumerateArray().Select(t => t.GetProperty("reply").GetString()).ToList();
        Assert.Contains("alpha", replies[0], StringComparison.Ordinal);
        Assert.Contains("beta", replies[1], StringComparison.Ordinal);
        Assert.Contains("gamma", replies[2], StringComparison.Ordinal);
        Assert.Equal(threadId, after.GetProperty("threadId").GetString());
        Assert.Equal(1, (await service.GetStatsAsync()).Assistants); // the session's one agent, kept between turns

        // Each turn continued the session as new, which this provider dates as a new instance; the session keeps its
        // start, and the list's date filters see it.
        Assert.Equal(startedAt, after.GetProperty("createdAt").GetString());
        var upTo = Uri.EscapeDataString(startedAt);
        var listed = await http.GetFromJsonAsync<JsonElement>(new Uri(second.BaseAddress, $"api/agent-sessions?createdTo={upTo}&top=200"));
        Assert.Contains(listed.GetProperty("sessions").EnumerateArray(), x => x.GetProperty("id").GetString() == id);

        using (var ended = await http.DeleteAsync(new Uri(second.BaseAddress, $"api/agent-sessions/{id}")))
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, ended.StatusCode);
        }

        var done = await SessionAsync(second, id, s => s.GetProperty("status").GetString() == "ended");
        Assert.True(done.GetProperty("ended").GetProperty("agentDeleted").GetBoolean());
        var stats = await service.GetStatsAsync();
        Assert.Equal(0, stats.Assistants);
        Assert.Equal(1, stats.AssistantsCreated);
    }

    [Fact]
    public async Task Polls_wait_their_whole_delay_although_this_provider_fires_short_timers_early()
    {
        var storage = azurite.ConnectionString;

        // A 6 s run; the service hints 1 s between polls (its hint is capped at 4 x 250 ms), so about 7 polls are
        // intended. Before timers that fired early were re-armed, this provider polled every 150-250 ms (~30 polls).
        // The host's stream window set to 0 (AgentJobs__StreamWindowSeconds): the run is polled, as this test is about polls.
        var output = await LocalCli.RunAsync(TimeSpan.FromSeconds(90), new Dictionary<string, string> { ["AgentJobs__StreamWindowSeconds"] = "0" },
            "run", "Hello", "--storage", storage, "--task-hub", TaskHub("polls"), "--simulated-run-ms", "6000", "--json");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        using var json = JsonDocument.Parse(output.StdOut);
        var polls = json.RootElement.GetProperty("polls").GetInt32();
        // The upper bound is the regression; the lower one only that the run was polled (queue hops on a slow
        // machine stretch each 1 s gap, so fewer polls fit in 6 s).
        Assert.InRange(polls, 2, 10);
    }

    [Fact]
    public async Task Cancels_sent_right_after_each_start_all_end_their_jobs_cancelled()
    {
        var storage = azurite.ConnectionString;
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions
        {
            ApiKey = "cancel-key",
            Simulation = { QueuedMs = 0, InProgressMs = 400 },
        });
        await using var serve = await ServeProcess.StartAsync(StartTimeout,
            "--storage", storage, "--task-hub", TaskHub("cancel"), "--endpoint", service.OpenAIEndpoint.ToString(), "--api-key", "cancel-key");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };

        // 20 short jobs, each cancelled the moment its 202 arrives. On this provider every step is a queue hop of
        // hundreds of milliseconds, so before the workflow checked for a cancel ahead of each create step (and the
        // API waited for the instance to leave Pending before raising it), these jobs ran to completion.
        var ids = await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var posted = await http.PostAsJsonAsync(new Uri(serve.BaseAddress, "api/agent-jobs"), new { prompt = $"Hello {i}" });
            Assert.True(posted.IsSuccessStatusCode, $"POST answered {posted.StatusCode}: {await posted.Content.ReadAsStringAsync()}");
            var id = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            using var cancel = await http.PostAsJsonAsync(new Uri(serve.BaseAddress, $"api/agent-jobs/{id}/cancel"), new { reason = "at once" });
            Assert.Equal(System.Net.HttpStatusCode.Accepted, cancel.StatusCode);
            return id;
        }));

        var outcomes = await Task.WhenAll(ids.Select(async id =>
        {
            var done = await WaitForAsync(http, serve, id, TimeSpan.FromSeconds(120), status =>
                status.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated");
            return done.GetProperty("result").GetProperty("outcome").GetString();
        }));

        Assert.All(outcomes, o => Assert.Equal("Cancelled", o));
        var stats = await service.GetStatsAsync();
        Assert.Equal(0, stats.Assistants);
        Assert.Equal(stats.AssistantsCreated, stats.AssistantsDeleted);
    }

    [Fact]
    public async Task The_event_stream_resumes_with_Last_Event_ID_across_a_killed_and_restarted_serve()
    {
        var storage = azurite.ConnectionString;
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions
        {
            ApiKey = "events-key",
            Simulation = { QueuedMs = 0, InProgressMs = 4_000 },
        });
        string[] args =
        [
            "--storage", storage, "--task-hub", TaskHub("events"),
            "--endpoint", service.OpenAIEndpoint.ToString(), "--api-key", "events-key",
        ];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(90) };

        string id;
        List<(string Id, string Event)> before;
        var first = await ServeProcess.StartAsync(StartTimeout, args);
        await using (first)
        {
            using var posted = await http.PostAsJsonAsync(new Uri(first.BaseAddress, "api/agent-jobs"),
                new { prompt = "Please use calculate with {\"expression\": \"6 * 7\"}", tools = new[] { "calculate" } });
            Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync());
            id = (await posted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;

            // Read until the run is under way, then the process dies mid-job (no graceful shutdown).
            before = await ReadEventsAsync(http, new Uri(first.BaseAddress, $"api/agent-jobs/{id}/events"), null, until: e => e.Event == "runStatus");
            await first.KillAsync();
        }

        await using var second = await ServeProcess.StartAsync(StartTimeout, args);
        var after = await ReadEventsAsync(http, new Uri(second.BaseAddress, $"api/agent-jobs/{id}/events"), before[^1].Id, until: e => e.Event == "result");

        var all = before.Concat(after).ToList();
        Assert.Equal("accepted", all[0].Event);
        Assert.Equal("result", all[^1].Event);
        Assert.Empty(before.Select(e => e.Id).Intersect(after.Select(e => e.Id))); // none repeated
        Assert.All(all.Zip(all.Skip(1)), pair => Assert.True(Compare(pair.First.Id, pair.Second.Id) < 0, $"{pair.First.Id} then {pair.Second.Id}"));
        Assert.Contains(all, e => e.Event == "toolCall");
        Assert.Contains(all, e => e.Event == "toolResult");
        Assert.Equal(0, (await service.GetStatsAsync()).Assistants);
    }

    /// <summary>Reads a Server-Sent Events stream (resuming after <paramref name="lastEventId"/>) until an event matches, or the stream ends.</summary>
    static async Task<List<(string Id, string Event)>> ReadEventsAsync(HttpClient http, Uri uri, string? lastEventId, Func<(string Id, string Event), bool> until)
    {
        var events = new List<(string Id, string Event)>();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        var resumeFrom = lastEventId;
        while (DateTime.UtcNow < deadline)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, uri);
            if (resumeFrom is not null)
            {
                request.Headers.Add("Last-Event-ID", resumeFrom);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.True(response.IsSuccessStatusCode, $"GET events answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            string? eventId = null, eventName = null;
            while (await reader.ReadLineAsync() is { } line)
            {
                if (line.StartsWith("id: ", StringComparison.Ordinal))
                {
                    eventId = line[4..];
                }
                else if (line.StartsWith("event: ", StringComparison.Ordinal))
                {
                    eventName = line[7..];
                }
                else if (line.Length == 0 && eventId is not null && eventName is not null)
                {
                    events.Add((eventId, eventName));
                    resumeFrom = eventId;
                    if (until((eventId, eventName)))
                    {
                        return events;
                    }

                    eventId = eventName = null;
                }
            }
        }

        throw new TimeoutException($"The stream {uri} never sent the awaited event; got: {string.Join(", ", events)}");
    }

    static int Compare(string a, string b)
    {
        var x = a.Split('.').Select(long.Parse).ToArray();
        var y = b.Split('.').Select(long.Parse).ToArray();
        return x.Zip(y, (p, q) => p.CompareTo(q)).FirstOrDefault(c => c != 0);
    }

    [Fact]
    public async Task On_storage_a_job_with_continued_as_new_pollers_is_one_connected_trace()
    {
        var spans = new SpanCollector();
        await using var host = await LocalHost.StartServeAsync(new LocalHostOptions
        {
            Urls = "http://127.0.0.1:0", Storage = azurite.ConnectionString, TaskHub = TaskHub("trace"), SimulatedRunMs = 4000, Spans = spans,
        });
        using var http = new HttpClient { BaseAddress = host.Urls[0] };

        using var accepted = await http.PostAsJsonAsync("/api/agent-jobs", new { prompt = "What is 17 * 23?", tools = new[] { "calculate" }, polling = FastPolling });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        JsonElement result = default;
        var until = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < until && result.ValueKind != JsonValueKind.Object)
        {
            await Task.Delay(200);
            var status = await http.GetFromJsonAsync<JsonElement>($"/api/agent-jobs/{id}");
            if (status.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.Object)
            {
                result = r;
            }
        }

        Assert.Equal("Completed", result.GetProperty("outcome").GetString());

        // The last spans end just after the job reports: wait (bounded) until the job's span is exported and its
        // trace has one root (the test's request), i.e. nothing dangles.
        Func<System.Diagnostics.Activity, bool> isJob = s => s.DisplayName == "orchestration:AgentJob" && Equals(s.GetTagItem("durabletask.task.instance_id"), id);
        List<System.Diagnostics.Activity> JobTrace() => spans.Spans.Where(isJob).Select(j => j.TraceId).FirstOrDefault() is var traceId && traceId != default
            ? [.. spans.Spans.Where(s => s.TraceId == traceId)]
            : [];
        static int Roots(List<System.Diagnostics.Activity> trace) => trace.Count(s => !trace.Any(p => p.SpanId == s.ParentSpanId));
        for (var settle = DateTime.UtcNow.AddSeconds(10); DateTime.UtcNow < settle && Roots(JobTrace()) != 1;)
        {
            await Task.Delay(100);
        }

        var job = Assert.Single(spans.Spans, s => isJob(s));
        var trace = JobTrace();
        Assert.Equal(1, Roots(trace));
        var polls = result.GetProperty("polls").GetInt32();
        Assert.True(polls > 3, $"only {polls} polls, so no poller continued as new");
        var ours = spans.Spans.Where(s => (s.GetTagItem("durabletask.task.instance_id") as string)?.StartsWith(id, StringComparison.Ordinal) == true).ToList();
        Assert.All(ours, s => Assert.Equal(job.TraceId, s.TraceId)); // every generation of every poller is in the job's trace
        var pollSpans = trace.Count(s => s.DisplayName == "activity:GetRun" && s.Kind == System.Diagnostics.ActivityKind.Server);
        Assert.Equal(polls, pollSpans); // also a poll already due when its generation starts
        Assert.Single(trace, s => s.DisplayName == "activity:ExecuteTool" && s.Kind == System.Diagnostics.ActivityKind.Server);
    }

    [Fact]
    public async Task On_storage_a_run_is_seen_through_its_stream_with_no_poll()
    {
        await using var host = await LocalHost.StartServeAsync(new LocalHostOptions
        {
            Urls = "http://127.0.0.1:0", Storage = azurite.ConnectionString, TaskHub = TaskHub("stream"), SimulatedRunMs = 1500,
        });
        using var http = new HttpClient { BaseAddress = host.Urls[0] };

        var result = await RunToResultAsync(http, new { prompt = "What is 17 * 23?", tools = new[] { "calculate" } }); // the host's 60 s window

        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        Assert.Equal(0, result.GetProperty("polls").GetInt32());
        Assert.Equal(1, result.GetProperty("toolCalls").GetInt32());
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
    }

    [Fact]
    public async Task On_storage_a_cancel_while_the_start_holds_its_stream_cancels_the_run_at_once()
    {
        await using var host = await LocalHost.StartServeAsync(new LocalHostOptions
        {
            Urls = "http://127.0.0.1:0", Storage = azurite.ConnectionString, TaskHub = TaskHub("streamcancel"), SimulatedRunMs = 120_000,
        });
        using var http = new HttpClient { BaseAddress = host.Urls[0] };
        using var accepted = await http.PostAsJsonAsync("/api/agent-jobs", new { prompt = "Hello" });
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var until = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < until && (await http.GetFromJsonAsync<JsonElement>($"/api/agent-jobs/{id}")) is var s &&
               !(s.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object && p.GetProperty("phase").GetString() == "StartingRun"))
        {
            await Task.Delay(200);
        }

        await Task.Delay(2_000); // the run exists and the StartRun activity holds its stream
        using (var cancel = await http.PostAsJsonAsync($"/api/agent-jobs/{id}/cancel", new { reason = "not now" }))
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, cancel.StatusCode);
        }

        var result = await ResultAsync(http, id, TimeSpan.FromSeconds(60));
        Assert.Equal("Cancelled", result.GetProperty("outcome").GetString());
        Assert.Equal("cancelled", result.GetProperty("runStatus").GetString());
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
        var stopAt = result.GetProperty("stop").GetProperty("atSeconds").GetDouble();
        var elapsed = result.GetProperty("elapsedSeconds").GetDouble();
        Assert.True(elapsed - stopAt < 20, $"the job ended {elapsed - stopAt:0.0} s after the cancel; the held 60 s stream must not delay it");
    }

    static async Task<JsonElement> RunToResultAsync(HttpClient http, object body)
    {
        using var accepted = await http.PostAsJsonAsync("/api/agent-jobs", body);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
        var id = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        return await ResultAsync(http, id, TimeSpan.FromSeconds(60));
    }

    static async Task<JsonElement> ResultAsync(HttpClient http, string id, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            var status = await http.GetFromJsonAsync<JsonElement>($"/api/agent-jobs/{id}");
            if (status.TryGetProperty("result", out var r) && r.ValueKind == JsonValueKind.Object)
            {
                return r.Clone();
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"Job {id} had no result after {timeout}.");
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
