using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AgentJobs.Deltas;
using AgentJobs.Http;
using LocalAgentService;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using OpenAI.Assistants;

namespace AgentFunctions.Local.Bench;

/// <summary>Options of <c>bench --live-text</c>.</summary>
/// <param name="Storage">An Azure Storage connection string for the storage scenarios; null runs the floor and in memory only.</param>
/// <param name="Jobs">Jobs per scenario, one after another.</param>
/// <param name="Words">Words (tokens) per reply.</param>
/// <param name="TokensPerSecond">The simulated model's pace.</param>
public sealed record LiveTextBenchmarkOptions(string? Storage, int Jobs, int Words, double TokensPerSecond);

/// <summary>
/// Token-to-watcher latency: from the moment the simulated service sends a piece of text on a run's stream to the moment
/// an SSE client of the job's event stream receives it, per token, p50/p95, in one run: the service stream read
/// directly (no durability: the floor), <c>serve</c> in memory, <c>serve --storage</c> with one worker, and two workers
/// on one task hub with the watcher on the worker that does not hold the stream. Also the delta log's writes per 1,000
/// tokens, and whether each watcher got every token once (the text it received equals the text the service sent).
/// </summary>
public static class LiveTextBenchmark
{
    /// <summary>Runs every scenario and prints the latency table on standard output; exit code 1 when a watcher lost or changed text.</summary>
    public static async Task<int> RunAsync(LiveTextBenchmarkOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clock = new TextClock();
        var key = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions
        {
            ApiKey = key,
            Simulation = { QueuedMs = 0, InProgressMs = 50, TokensPerSecond = options.TokensPerSecond, TextSent = clock.Record },
        }, cancellationToken).ConfigureAwait(false);
        Console.Out.WriteLine(
            $"bench --live-text: {options.Jobs} job(s) per scenario, {options.Words}-word replies streamed at {options.TokensPerSecond:0.#} tokens/s " +
            $"(classic protocol, {Environment.ProcessorCount} cores); latency = service sends a token → an SSE client of the job's events receives it.");

        var rows = new List<Row>
        {
            await FloorAsync(service, key, clock, options, cancellationToken).ConfigureAwait(false),
            await ServeAsync("serve, in memory", service, key, clock, options, null, 1, cancellationToken).ConfigureAwait(false),
        };
        if (options.Storage is { } storage)
        {
            rows.Add(await ServeAsync("serve --storage, 1 worker", service, key, clock, options, storage, 1, cancellationToken).ConfigureAwait(false));
            rows.Add(await ServeAsync("serve --storage, 2 workers, watcher on the other", service, key, clock, options, storage, 2, cancellationToken).ConfigureAwait(false));
        }

        Console.Out.WriteLine();
        Console.Out.WriteLine($"{"scenario",-50} {"tokens",7} {"p50 ms",8} {"p95 ms",8} {"p50 ×floor",10} {"lost",5} {"same text",9} {"writes/1k tok",13} {"reads/1k tok",12}");
        var floor = rows[0].P50;
        foreach (var row in rows)
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Name,-50} {row.Tokens,7} {row.P50,8:0.0} {row.P95,8:0.0} {(floor > 0 ? row.P50 / floor : 0),10:0.0} {row.Lost,5} {(row.SameText ? "yes" : "NO"),9} {Per1k(row.Appends, row.Tokens),13} {Per1k(row.Reads, row.Tokens),12}"));
        }

        return rows.All(r => r.SameText && r.Lost == 0) ? 0 : 1;
    }

    static string Per1k(long? operations, int tokens) =>
        operations is { } n && tokens > 0 ? (n * 1000.0 / tokens).ToString("0.0", CultureInfo.InvariantCulture) : "–";

    static string Prompt(LiveTextBenchmarkOptions options) => $"Please write {options.Words} words";

    /// <summary>The floor: the service's own stream, read by a client in this process (what every watcher waits for at least).</summary>
    static async Task<Row> FloorAsync(LocalAgentServer service, string key, TextClock clock, LiveTextBenchmarkOptions options, CancellationToken cancellationToken)
    {
        var client = new AssistantClient(new System.ClientModel.ApiKeyCredential(key), new AssistantClientOptions { Endpoint = service.OpenAIEndpoint });
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini", cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
        var watch = new Arrivals(clock);
        for (var i = 0; i < options.Jobs; i++)
        {
            var thread = (await client.CreateThreadAsync(cancellationToken: cancellationToken).ConfigureAwait(false)).Value;
            await client.CreateMessageAsync(thread.Id, MessageRole.User, [MessageContent.FromText(Prompt(options))], cancellationToken: cancellationToken).ConfigureAwait(false);
            await foreach (var update in (await client.CreateRunStreamingAsync(thread.Id, agent.Id, cancellationToken: cancellationToken).ConfigureAwait(false)).WithCancellation(cancellationToken))
            {
                if (update is MessageContentUpdate { Text: { Length: > 0 } text } content)
                {
                    watch.Received(content.MessageId, text);
                }
            }
        }

        return watch.Row("service stream read directly (the floor)", appends: null, reads: null);
    }

    /// <summary>Jobs through <c>serve</c> hosts in this process, watched through their event streams.</summary>
    static async Task<Row> ServeAsync(
        string name, LocalAgentServer service, string key, TextClock clock, LiveTextBenchmarkOptions options, string? storage, int workers, CancellationToken cancellationToken)
    {
        var hub = "live" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var counters = new CountingDeltaLog.Counters[workers];
        var hosts = new List<LocalHost>();
        try
        {
            for (var i = 0; i < workers; i++)
            {
                var counter = counters[i] = new CountingDeltaLog.Counters();
                hosts.Add(await LocalHost.StartServeAsync(new LocalHostOptions
                {
                    Urls = "http://127.0.0.1:0",
                    Endpoint = service.OpenAIEndpoint.ToString(),
                    ApiKey = key,
                    Storage = storage,
                    TaskHub = storage is null ? null : hub,
                    WorkerId = storage is null ? null : $"live-{i}",
                    LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
                    ConfigureServices = services => CountingDeltaLog.Wrap(services, counter),
                }, cancellationToken).ConfigureAwait(false));
            }

            using var http = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
            var watches = hosts.Select(_ => new Arrivals(clock)).ToArray();
            var chosen = new Arrivals(clock);
            for (var j = 0; j < options.Jobs; j++)
            {
                var appendsBefore = counters.Select(c => c.Appends).ToArray();
                using var posted = await http.PostAsJsonAsync(new Uri(hosts[0].Urls[0], AgentJobsRoutes.JobsPath),
                    new { prompt = Prompt(options), polling = new { streamWindowSeconds = 120 } }, cancellationToken).ConfigureAwait(false);
                posted.EnsureSuccessStatusCode();
                var id = (await posted.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false)).GetProperty("id").GetString()!;
                var perJob = hosts.Select(_ => new Arrivals(clock)).ToArray();
                await Task.WhenAll(hosts.Select((h, i) => WatchAsync(http, new Uri(h.Urls[0], $"{AgentJobsRoutes.JobsPath}/{Uri.EscapeDataString(id)}/events"), perJob[i], cancellationToken))).ConfigureAwait(false);

                // Two workers: the watcher of the one that did not write this job's deltas.
                var holder = Enumerable.Range(0, workers).OrderByDescending(i => counters[i].Appends - appendsBefore[i]).First();
                chosen.Add(perJob[workers == 1 ? 0 : (holder + 1) % workers]);
            }

            return chosen.Row(name, counters.Sum(c => c.Appends), counters.Sum(c => c.Reads));
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    static async Task WatchAsync(HttpClient http, Uri events, Arrivals arrivals, CancellationToken cancellationToken)
    {
        string? last = null;
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, events);
            if (last is not null)
            {
                request.Headers.Add("Last-Event-ID", last);
            }

            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == System.Net.HttpStatusCode.NoContent)
            {
                return;
            }

            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false));
            string? id = null, type = null, data = null;
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                if (line.Length > 0)
                {
                    if (line.StartsWith("id: ", StringComparison.Ordinal)) id = line[4..];
                    else if (line.StartsWith("event: ", StringComparison.Ordinal)) type = line[7..];
                    else if (line.StartsWith("data: ", StringComparison.Ordinal)) data = line[6..];
                    continue;
                }

                if (id is not null && data is not null)
                {
                    last = id;
                    if (type == "delta")
                    {
                        using var json = JsonDocument.Parse(data);
                        arrivals.Received(json.RootElement.GetProperty("itemId").GetString() ?? "", json.RootElement.GetProperty("text").GetString() ?? "");
                    }
                    else if (type == "result")
                    {
                        return;
                    }
                }

                (id, type, data) = (null, null, null);
            }
        }
    }

    sealed record Row(string Name, int Tokens, double P50, double P95, int Lost, bool SameText, long? Appends, long? Reads);

    /// <summary>When each piece of text left the service: per message, the end offset of each piece and its time.</summary>
    sealed class TextClock
    {
        readonly ConcurrentDictionary<string, List<(int End, long At)>> sent = new(StringComparer.Ordinal);
        readonly ConcurrentDictionary<string, StringBuilder> texts = new(StringComparer.Ordinal);

        public void Record(string itemId, string piece)
        {
            var list = sent.GetOrAdd(itemId, _ => []);
            lock (list)
            {
                list.Add(((list.Count == 0 ? 0 : list[^1].End) + piece.Length, Stopwatch.GetTimestamp()));
                texts.GetOrAdd(itemId, _ => new StringBuilder()).Append(piece);
            }
        }

        public List<(int End, long At)> Pieces(string itemId)
        {
            var list = sent.GetOrAdd(itemId, _ => []);
            lock (list)
            {
                return [.. list];
            }
        }

        public string Text(string itemId) => texts.TryGetValue(itemId, out var text) ? text.ToString() : "";
    }

    /// <summary>What one watcher received: per message, the text and each token's latency.</summary>
    sealed class Arrivals(TextClock clock)
    {
        readonly Dictionary<string, StringBuilder> received = new(StringComparer.Ordinal);
        readonly List<double> latencies = [];
        readonly List<Arrivals> parts = [];

        public void Received(string itemId, string text)
        {
            var now = Stopwatch.GetTimestamp();
            if (!received.TryGetValue(itemId, out var so))
            {
                received[itemId] = so = new StringBuilder();
            }

            var from = so.Length;
            so.Append(text);
            foreach (var (end, at) in clock.Pieces(itemId).Where(p => p.End > from && p.End <= so.Length))
            {
                latencies.Add(Stopwatch.GetElapsedTime(at, now).TotalMilliseconds);
            }
        }

        public void Add(Arrivals other) => parts.Add(other);

        public Row Row(string name, long? appends, long? reads)
        {
            var all = parts.Append(this).Where(a => a.received.Count > 0).ToList();
            var times = all.SelectMany(a => a.latencies).Order().ToList();
            var tokens = all.Sum(a => a.received.Keys.Sum(k => clock.Pieces(k).Count));
            var same = all.Count > 0 && all.All(a => a.received.All(r => r.Value.ToString() == clock.Text(r.Key)));
            foreach (var (item, got) in all.SelectMany(a => a.received).Where(r => r.Value.ToString() != clock.Text(r.Key)))
            {
                Console.Error.WriteLine($"  {name}: message {item}: received {got.Length} characters, the service sent {clock.Text(item).Length}; first difference at {FirstDifference(got.ToString(), clock.Text(item))}.");
            }

            return new Row(name, tokens, Percentile(times, 0.50), Percentile(times, 0.95), tokens - times.Count, same, appends, reads);
        }

        static int FirstDifference(string a, string b)
        {
            var i = 0;
            while (i < a.Length && i < b.Length && a[i] == b[i])
            {
                i++;
            }

            return i;
        }

        static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
    }

    /// <summary>Counts a host's delta-log writes (storage operations) and reads.</summary>
    sealed class CountingDeltaLog(IDeltaLog inner, CountingDeltaLog.Counters counters) : IDeltaLog
    {
        public sealed class Counters
        {
            long appends;
            long reads;

            public long Appends => Interlocked.Read(ref appends);

            public long Reads => Interlocked.Read(ref reads);

            public void Appended() => Interlocked.Increment(ref appends);

            public void Read() => Interlocked.Increment(ref reads);
        }

        public long Operations => inner.Operations;

        public static void Wrap(IServiceCollection services, Counters counters)
        {
            var registered = services.Last(d => d.ServiceType == typeof(IDeltaLog));
            services.Replace(ServiceDescriptor.Singleton<IDeltaLog>(sp => new CountingDeltaLog(
                registered.ImplementationInstance as IDeltaLog
                ?? registered.ImplementationFactory?.Invoke(sp) as IDeltaLog
                ?? (IDeltaLog)ActivatorUtilities.CreateInstance(sp, registered.ImplementationType!), counters)));
        }

        public Task AppendAsync(string jobId, string callKey, IReadOnlyList<TextDelta> entries, CancellationToken cancellationToken)
        {
            counters.Appended();
            return inner.AppendAsync(jobId, callKey, entries, cancellationToken);
        }

        public Task<IReadOnlyList<TextDelta>> ReadAsync(string jobId, string callKey, int afterSeq, CancellationToken cancellationToken)
        {
            counters.Read();
            return inner.ReadAsync(jobId, callKey, afterSeq, cancellationToken);
        }

        public Task<int> DeleteJobAsync(string jobId, CancellationToken cancellationToken) => inner.DeleteJobAsync(jobId, cancellationToken);
    }
}
