using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace LocalAgentService.Bench;

/// <summary>
/// Loopback benchmark (not a test): GET-run requests/s from several concurrent clients, then runs completed/s.
/// Bounded in time and count; talks only to an in-process server on 127.0.0.1.
/// </summary>
internal static class Benchmark
{
    private const int Workers = 16;
    private const int MaxRequests = 2_000_000;
    private const int RunCount = 1_000;

    public static async Task<int> RunAsync(string[] args)
    {
        double seconds = args.Length > 0 && double.TryParse(args[0], CultureInfo.InvariantCulture, out var s) ? Math.Clamp(s, 1, 60) : 5;
        var options = new LocalAgentServerOptions { Simulation = { QueuedMs = 0, InProgressMs = 0, PollHintMs = 50 } };
        await using var server = await LocalAgentServer.StartAsync(options);
        using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = Workers, UseProxy = false };
        using var http = new HttpClient(handler) { BaseAddress = new Uri(server.OpenAIEndpoint + "/") };

        var assistant = await PostAsync(http, "assistants", new { model = "gpt-4o-mini" });
        var run = await PostAsync(http, "threads/runs", new { assistant_id = assistant, thread = new { messages = new[] { new { role = "user", content = "Hello, tell me a joke" } } } }, "thread_id");
        string runPath = $"threads/{run.Extra}/runs/{run.Id}";

        // Warm-up, then measure.
        await GetLoopAsync(http, runPath, TimeSpan.FromSeconds(1), 20_000);
        var (requests, elapsed) = await GetLoopAsync(http, runPath, TimeSpan.FromSeconds(seconds), MaxRequests);
        Console.WriteLine($"GET run: {requests:N0} requests in {elapsed.TotalSeconds:F2} s = {requests / elapsed.TotalSeconds:N0} req/s ({Workers} concurrent clients)");

        var sw = Stopwatch.StartNew();
        var created = 0;
        await Parallel.ForAsync(0, RunCount, new ParallelOptions { MaxDegreeOfParallelism = Workers }, async (_, ct) =>
        {
            await PostAsync(http, "threads/runs", new { assistant_id = assistant, thread = new { messages = new[] { new { role = "user", content = "ping" } } } });
            Interlocked.Increment(ref created);
        });
        var deadline = DateTime.UtcNow.AddSeconds(60);
        AgentServiceStats stats;
        while ((stats = await server.GetStatsAsync()).Runs["completed"] < RunCount + 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(5);
        }

        sw.Stop();
        int completed = stats.Runs["completed"] - 1;
        Console.WriteLine($"Runs: {completed:N0} of {created:N0} created runs completed in {sw.Elapsed.TotalSeconds:F2} s = {completed / sw.Elapsed.TotalSeconds:N0} runs/s (create-thread-and-run, zero simulated delay)");
        return completed == RunCount ? 0 : 1;
    }

    private static async Task<(long Requests, TimeSpan Elapsed)> GetLoopAsync(HttpClient http, string path, TimeSpan duration, int maxRequests)
    {
        long count = 0;
        var sw = Stopwatch.StartNew();
        var workers = Enumerable.Range(0, Workers).Select(async _ =>
        {
            while (sw.Elapsed < duration && Interlocked.Increment(ref count) <= maxRequests)
            {
                using var response = await http.GetAsync(path);
                response.EnsureSuccessStatusCode();
                await response.Content.ReadAsByteArrayAsync();
            }
        });
        await Task.WhenAll(workers);
        return (Math.Min(count - Workers, maxRequests), sw.Elapsed);
    }

    private static async Task<string> PostAsync(HttpClient http, string path, object body) => (await PostAsync(http, path, body, null)).Id;

    private static async Task<(string Id, string? Extra)> PostAsync(HttpClient http, string path, object body, string? extra)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (json.RootElement.GetProperty("id").GetString()!, extra is null ? null : json.RootElement.GetProperty(extra).GetString());
    }
}
