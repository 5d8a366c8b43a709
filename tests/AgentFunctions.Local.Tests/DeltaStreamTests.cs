using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;
using AgentJobs.Deltas;
using LocalAgentService;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// Live text on the Azure Storage backend (Azurite): the delta log is a table in the task hub's storage account, and
/// <c>serve --storage</c> interleaves the deltas with the job's events, resumable by id, on both protocols.
/// </summary>
public sealed class DeltaStreamTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task The_table_log_appends_a_flush_in_one_operation_reads_after_a_number_and_deletes_with_the_job()
    {
        var log = TableDeltaLog.FromConnectionString(azurite.ConnectionString, "deltas" + Guid.NewGuid().ToString("N")[..10]);
        var token = TestContext.Current.CancellationToken;
        var at = DateTime.UtcNow;
        Assert.Empty(await log.ReadAsync("job/1", "job/1:run", -1, token));

        await log.AppendAsync("job/1", "job/1:run", [new(0, "run_1", "msg_1", "Hello, ", 3, at), new(1, "run_1", "msg_2", "world", 4, at)], token);
        await log.AppendAsync("job/1", "job/1:run", [new(2, "run_1", "msg_2", "!", 5, at)], token);
        await log.AppendAsync("job/1", "job/1:tools:0", [new(0, "run_2", "msg_3", "other call", null, at)], token);

        var all = await log.ReadAsync("job/1", "job/1:run", -1, token);
        Assert.Equal(["Hello, ", "world", "!"], all.Select(e => e.Text));
        Assert.Equal([0, 1, 2], all.Select(e => e.Seq));
        Assert.Equal([3L, 4L, 5L], all.Select(e => e.StreamSequence ?? -1));
        Assert.Equal("msg_2", all[1].ItemId);
        Assert.Equal(["!"], (await log.ReadAsync("job/1", "job/1:run", 1, token)).Select(e => e.Text));

        var before = log.Operations;
        await log.AppendAsync("job/1", "job/1:run", [.. Enumerable.Range(3, 50).Select(i => new TextDelta(i, "run_1", $"msg_{i}", "x", null, at))], token);
        Assert.Equal(1, log.Operations - before); // one entity-group transaction

        Assert.Equal(54, await log.DeleteJobAsync("job/1", token));
        Assert.Empty(await log.ReadAsync("job/1", "job/1:run", -1, token));
    }

    [Theory]
    [InlineData("classic")]
    [InlineData("foundry")]
    public async Task Serve_with_storage_streams_the_reply_as_deltas_that_spell_it_and_a_reconnect_resumes_exactly(string protocol)
    {
        await using var serve = await ServeProcess.StartAsync(StartTimeout,
            "--storage", azurite.ConnectionString, "--task-hub", "deltas" + Guid.NewGuid().ToString("N")[..10], "--protocol", protocol, "--simulated-run-ms", "300");
        using var http = new HttpClient { BaseAddress = serve.BaseAddress, Timeout = TimeSpan.FromSeconds(120) };
        using var posted = await http.PostAsJsonAsync("api/agent-jobs", new
        {
            prompt = "Please use calculate with {\"expression\": \"6 * 7\"}",
            tools = new[] { "calculate" },
            polling = new { streamWindowSeconds = 30 },
        }, TestContext.Current.CancellationToken);
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var id = (await posted.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("id").GetString()!;

        var whole = await ReadEventsAsync(http, id, null);
        Assert.Equal("result", whole[^1].Type);
        var reply = whole.Single(e => e.Type == "reply").Data.GetProperty("text").GetString();
        var deltas = whole.Where(e => e.Type == "delta").ToList();
        Assert.NotEmpty(deltas);
        Assert.Equal(reply, string.Join("\n\n", deltas.GroupBy(d => d.Data.GetProperty("itemId").GetString()).Select(g => string.Concat(g.Select(d => d.Data.GetProperty("text").GetString())))));
        Assert.Equal(whole.Count, whole.Select(e => e.Id).Distinct().Count());

        // Reconnects: inside the deltas, and just before them; exactly the rest each time.
        var first = whole.IndexOf(deltas[0]);
        foreach (var from in new[] { first, first - 1, whole.IndexOf(deltas[^1]) })
        {
            var rest = await ReadEventsAsync(http, id, whole[from].Id);
            Assert.Equal(whole.Skip(from + 1).Select(e => e.Id), rest.Select(e => e.Id));
            Assert.Equal(whole.Skip(from + 1).Select(e => e.Data.GetRawText()), rest.Select(e => e.Data.GetRawText()));
        }

        // A watcher that joins now gets the reply, not the deltas.
        var late = await ReadEventsAsync(http, id, null);
        Assert.DoesNotContain(late, e => e.Type == "delta");
        Assert.Equal(reply, late.Single(e => e.Type == "reply").Data.GetProperty("text").GetString());
    }

    [Theory]
    [InlineData("classic")]
    [InlineData("foundry")]
    public async Task A_watcher_on_the_other_worker_gets_every_delta_exactly_once_when_the_worker_holding_the_stream_is_killed(string protocol)
    {
        var storage = azurite.ConnectionString;
        var hub = "kill" + Guid.NewGuid().ToString("N")[..12];
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions
        {
            ApiKey = "kill-key",
            Simulation = { QueuedMs = 0, InProgressMs = 100, TokensPerSecond = 25 },
        });
        string[] Args(string worker) =>
        [
            "--storage", storage, "--task-hub", hub, "--worker-id", worker, "--partition-lease", "15",
            "--endpoint", service.ProjectEndpoint.ToString(), "--api-key", "kill-key", "--protocol", protocol,
        ];

        // worker-b alone takes the job, so its StartRun (and the run's stream) is there.
        await using var victim = await ServeProcess.StartAsync(StartTimeout, Args("worker-b"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var posted = await http.PostAsJsonAsync(new Uri(victim.BaseAddress, "api/agent-jobs"),
            new { prompt = "Please write 900 words", polling = new { streamWindowSeconds = 120 }, maxDurationSeconds = 600 }, TestContext.Current.CancellationToken);
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        var id = (await posted.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("id").GetString()!;

        using var onVictim = new SseWatcher(new Uri(victim.BaseAddress, $"api/agent-jobs/{id}/events"), null);
        await onVictim.WaitForAsync(events => events.Count(e => e.Type == "delta") >= 3, TimeSpan.FromSeconds(60), "three deltas on worker-b");
        onVictim.Dispose();

        // worker-a joins; its watcher resumes after the last event worker-b's watcher got, then worker-b dies mid-reply.
        await using var survivor = await ServeProcess.StartAsync(StartTimeout, Args("worker-a"));
        var seenOnVictim = onVictim.Events;
        using var onSurvivor = new SseWatcher(new Uri(survivor.BaseAddress, $"api/agent-jobs/{id}/events"), seenOnVictim[^1].Id);
        await onSurvivor.WaitForAsync(events => events.Any(e => e.Type == "delta"), TimeSpan.FromSeconds(60), "a delta on worker-a");
        await victim.KillAsync();
        var deltasBeforeKill = onSurvivor.Events.Count(e => e.Type == "delta");

        await onSurvivor.WaitForAsync(events => events.Any(e => e.Type == "result"), TimeSpan.FromSeconds(180), "the result on worker-a");
        var all = seenOnVictim.Concat(onSurvivor.Events).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine($"{all.Count(e => e.Type == "delta")} deltas: {seenOnVictim.Count(e => e.Type == "delta")} on worker-b, {deltasBeforeKill} more on worker-a before the kill, the rest after.");
        Assert.Equal("Completed", all[^1].Data.GetProperty("outcome").GetString());
        Assert.True(all.Count(e => e.Type == "delta") > seenOnVictim.Count(e => e.Type == "delta") + deltasBeforeKill, "deltas came after the kill");

        // None lost, none repeated: unique ids in order, and the deltas spell the reply byte for byte.
        var ids = all.Select(e => Version.Parse(e.Id)).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        var reply = all.Single(e => e.Type == "reply").Data.GetProperty("text").GetString();
        var spelled = string.Join("\n\n", all.Where(e => e.Type == "delta").GroupBy(d => d.Data.GetProperty("itemId").GetString()).Select(g => string.Concat(g.Select(d => d.Data.GetProperty("text").GetString()))));
        Assert.Equal(reply, spelled);
    }

    internal static async Task<List<(string Id, string Type, JsonElement Data)>> ReadEventsAsync(HttpClient http, string id, string? lastEventId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"api/agent-jobs/{Uri.EscapeDataString(id)}/events");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var response = await http.SendAsync(request, TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var text = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        var events = new List<(string, string, JsonElement)>();
        foreach (var block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            if (lines.FirstOrDefault(l => l.StartsWith("id: ", StringComparison.Ordinal)) is not { } idLine)
            {
                continue;
            }

            var type = lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))[7..];
            using var data = JsonDocument.Parse(lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))[6..]);
            events.Add((idLine[4..], type, data.RootElement.Clone()));
        }

        return events;
    }
}

/// <summary>Follows a job's event stream in the background, reconnecting with <c>Last-Event-ID</c> until the result.</summary>
sealed class SseWatcher : IDisposable
{
    readonly List<(string Id, string Type, JsonElement Data)> events = [];
    readonly CancellationTokenSource stop = new();
    readonly Task reading;

    public SseWatcher(Uri url, string? lastEventId)
    {
        reading = Task.Run(() => ReadAsync(url, lastEventId));
    }

    public List<(string Id, string Type, JsonElement Data)> Events
    {
        get
        {
            lock (events)
            {
                return [.. events];
            }
        }
    }

    public async Task WaitForAsync(Func<List<(string Id, string Type, JsonElement Data)>, bool> condition, TimeSpan timeout, string what)
    {
        var until = DateTime.UtcNow + timeout;
        while (!condition(Events))
        {
            Assert.True(DateTime.UtcNow < until, $"No {what} in {timeout.TotalSeconds:0} s; events: {string.Join(", ", Events.Select(e => $"{e.Id} {e.Type}"))}");
            await Task.Delay(50);
        }
    }

    async Task ReadAsync(Uri url, string? lastEventId)
    {
        using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, url);
                if (lastEventId is not null)
                {
                    request.Headers.Add("Last-Event-ID", lastEventId);
                }

                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stop.Token);
                if (response.StatusCode == HttpStatusCode.NoContent)
                {
                    return;
                }

                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(stop.Token));
                string? id = null, type = null, data = null;
                while (await reader.ReadLineAsync(stop.Token) is { } line)
                {
                    if (line.Length == 0)
                    {
                        if (id is not null && type is not null && data is not null)
                        {
                            using var json = JsonDocument.Parse(data);
                            lock (events)
                            {
                                events.Add((id, type, json.RootElement.Clone()));
                            }

                            lastEventId = id;
                            if (type == "result")
                            {
                                return;
                            }
                        }

                        (id, type, data) = (null, null, null);
                    }
                    else if (line.StartsWith("id: ", StringComparison.Ordinal))
                    {
                        id = line[4..];
                    }
                    else if (line.StartsWith("event: ", StringComparison.Ordinal))
                    {
                        type = line[7..];
                    }
                    else if (line.StartsWith("data: ", StringComparison.Ordinal))
                    {
                        data = line[6..];
                    }
                }
            }
            catch (Exception) when (!stop.IsCancellationRequested)
            {
                // The worker went away or the stream broke: reconnect after the last event.
            }
            catch (OperationCanceledException)
            {
                return;
            }

            await Task.Delay(200, CancellationToken.None);
        }
    }

    public void Dispose()
    {
        if (!stop.IsCancellationRequested)
        {
            stop.Cancel();
            try
            {
                reading.Wait(TimeSpan.FromSeconds(5));
            }
            catch (AggregateException)
            {
            }
        }
    }
}
