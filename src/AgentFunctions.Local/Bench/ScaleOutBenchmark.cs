using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using AgentJobs.Hosting;
using AgentJobs.Http;
using DurableTask.AzureStorage;
using LocalAgentService;

namespace AgentFunctions.Local.Bench;

/// <summary>What the scale-out benchmark runs.</summary>
/// <param name="Storage">The Azure Storage connection string (Azurite or an account).</param>
/// <param name="Workers">Worker processes of the second run (the first always has one).</param>
/// <param name="Jobs">Jobs per run, all submitted at once.</param>
/// <param name="RunMs">Simulated run length in ms.</param>
public sealed record ScaleOutBenchmarkOptions(string Storage, int Workers, int Jobs, int RunMs);

/// <summary>
/// Throughput of <c>serve --storage</c> with one worker process and with N on one task hub: an embedded agent service
/// (simulated model) shared by all workers, then for 1 and for N workers a fresh task hub, the workers started from
/// this executable, a warm-up, and the jobs submitted at once, spread over the workers' APIs. Jobs/s counts from the
/// first submission to the last job's completion as the task hub recorded it.
/// </summary>
public static class ScaleOutBenchmark
{
    static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    // A new worker steals its share of partitions on its first pass, but the owner gives them up only on its next
    // (every 10 s with the provider's defaults), after draining them.
    static readonly TimeSpan BalanceTimeout = TimeSpan.FromSeconds(90);

    static readonly TimeSpan JobsTimeout = TimeSpan.FromMinutes(10);

    /// <summary>Runs both measurements and prints them on standard output.</summary>
    public static async Task<int> RunAsync(ScaleOutBenchmarkOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Workers < 2 || options.Jobs < 1 || options.RunMs < 0)
        {
            Terminal.Fail("--workers must be at least 2, --jobs at least 1 and --run-ms at least 0.");
            return Cli.ConfigurationError;
        }

        if (string.IsNullOrWhiteSpace(options.Storage))
        {
            // A blank connection string would start the workers on the in-memory backend, which refuses --worker-id.
            Terminal.Fail("--storage needs an Azure Storage connection string (e.g. UseDevelopmentStorage=true for Azurite).");
            return Cli.ConfigurationError;
        }

        var key = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        await using var service = await LocalAgentServer.StartAsync(new LocalAgentServerOptions
        {
            ApiKey = key,
            Simulation = { QueuedMs = 0, InProgressMs = options.RunMs },
        }, cancellationToken).ConfigureAwait(false);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        Console.Out.WriteLine(
            $"bench: {options.Jobs} concurrent jobs on Azure Storage, 1 then {options.Workers} serve worker processes on a fresh task hub each, " +
            $"simulated run {options.RunMs} ms, one shared agent service, {Environment.ProcessorCount} cores");

        var measured = new List<Measurement>();
        foreach (var workers in new[] { 1, options.Workers })
        {
            Measurement m;
            try
            {
                m = await MeasureAsync(options, workers, service, key, http, cancellationToken).ConfigureAwait(false);
            }
            catch (ServeWorkerExitedException ex)
            {
                // A worker that refuses its settings (a malformed --storage) is a configuration error, said in one line.
                Terminal.Fail($"a serve worker could not start: {ex.Reason}");
                return Cli.ConfigurationError;
            }

            measured.Add(m);
            Console.Out.WriteLine(
                $"{workers} worker(s): {m.Jobs} jobs in {m.Wall.TotalSeconds:0.00} s = {m.JobsPerSecond:0.0} jobs/s; failures {m.Failures}; " +
                $"agents deleted per worker {string.Join(" / ", m.DeletedPerWorker)}");
        }

        var stats = await service.GetStatsAsync().ConfigureAwait(false);
        Console.Out.WriteLine($"  ratio {options.Workers} workers / 1: {measured[1].JobsPerSecond / measured[0].JobsPerSecond:0.00}x");
        Console.Out.WriteLine($"  agent service after: {stats.Assistants} live assistants, {stats.AssistantsCreated} created, {stats.AssistantsDeleted} deleted");
        var failed = measured.Sum(m => m.Failures);
        if (failed > 0 || stats.Assistants != 0)
        {
            Terminal.Fail($"{failed} job(s) did not complete; {stats.Assistants} assistant(s) left behind.");
            return Cli.JobNotCompleted;
        }

        return 0;
    }

    static async Task<Measurement> MeasureAsync(
        ScaleOutBenchmarkOptions options, int count, LocalAgentServer service, string key, HttpClient http, CancellationToken cancellationToken)
    {
        var hub = $"bench{count}w{Guid.NewGuid():N}"[..20];
        var workers = new List<ServeWorker>();
        try
        {
            // The connection string goes in the environment, not on a command line anyone on the machine can read.
            var environment = new Dictionary<string, string> { [LocalHost.StorageSetting.Replace(":", "__", StringComparison.Ordinal)] = options.Storage };
            for (var i = 1; i <= count; i++)
            {
                workers.Add(await ServeWorker.StartAsync(
                    ["--task-hub", hub, "--worker-id", $"bench-worker-{i}", "--endpoint", service.OpenAIEndpoint.ToString(), "--api-key", key, "--protocol", "classic"],
                    environment, StartTimeout, cancellationToken).ConfigureAwait(false));
            }

            await WaitForBalanceAsync(options.Storage, hub, count, cancellationToken).ConfigureAwait(false);

            // Warm up every worker (JIT, connections, queues) with a couple of jobs each; not measured.
            await RunJobsAsync(http, workers, count * 2, cancellationToken).ConfigureAwait(false);
            var deletedBefore = workers.Select(w => w.DeletedAgents).ToList();

            var (jobs, wall) = await RunJobsAsync(http, workers, options.Jobs, cancellationToken).ConfigureAwait(false);
            return new Measurement(
                jobs.Count,
                jobs.Count(j => j.Outcome != "Completed"),
                wall,
                [.. workers.Select((w, i) => w.DeletedAgents - deletedBefore[i])]);
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync().ConfigureAwait(false);
            }

            await DeleteTaskHubAsync(options.Storage, hub).ConfigureAwait(false);
        }
    }

    /// <summary>Waits until every worker holds its share of the four partitions, so the run measures them all working.</summary>
    static async Task WaitForBalanceAsync(string storage, string hub, int workers, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var now = DateTimeOffset.UtcNow;
            var held = (await AzureStoragePartitions.ReadAsync(storage, hub, cancellationToken).ConfigureAwait(false)).Where(p => p.IsHeldAt(now)).ToList();
            var perWorker = held.GroupBy(p => p.Owner).Select(g => g.Count()).ToList();
            if (held.Count > 0 && perWorker.Count == Math.Min(workers, held.Count) && perWorker.Max() - perWorker.Min() <= 1)
            {
                return;
            }

            if (watch.Elapsed > BalanceTimeout)
            {
                throw new TimeoutException($"The partitions of {hub} were not shared by {workers} worker(s) within {BalanceTimeout.TotalSeconds:0} s.");
            }

            await Task.Delay(250, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Submits the jobs at once, round robin over the workers, and waits until none is pending or running.</summary>
    static async Task<(IReadOnlyList<AgentJobSummary> Jobs, TimeSpan Wall)> RunJobsAsync(
        HttpClient http, List<ServeWorker> workers, int jobs, CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var ids = (await Task.WhenAll(Enumerable.Range(0, jobs).Select(async i =>
        {
            using var posted = await http.PostAsJsonAsync(
                new Uri(workers[i % workers.Count].BaseAddress, AgentJobsApi.RoutePrefix), new { prompt = "Hello, tell me a joke" }, cancellationToken).ConfigureAwait(false);
            posted.EnsureSuccessStatusCode();
            var accepted = await posted.Content.ReadFromJsonAsync<AcceptedJob>(cancellationToken).ConfigureAwait(false);
            return accepted!.Id;
        })).ConfigureAwait(false)).ToHashSet(StringComparer.Ordinal);

        var list = new Uri(workers[0].BaseAddress, AgentJobsApi.RoutePrefix);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(JobsTimeout);
        while ((await ListAsync(http, list, "status=Pending,Running&top=1", timeout.Token).ConfigureAwait(false)).Jobs.Count > 0)
        {
            await Task.Delay(250, timeout.Token).ConfigureAwait(false);
        }

        var done = new List<AgentJobSummary>();
        string? next = null;
        do
        {
            var page = await ListAsync(http, list, $"top={AgentJobListApi.MaxTop}" + (next is null ? "" : $"&continuationToken={Uri.EscapeDataString(next)}"), cancellationToken)
                .ConfigureAwait(false);
            done.AddRange(page.Jobs.Where(j => ids.Contains(j.Id)));
            next = page.ContinuationToken;
        }
        while (next is not null);

        if (done.Count != ids.Count)
        {
            throw new InvalidOperationException($"{ids.Count} jobs were submitted but {done.Count} are listed.");
        }

        // From the first submission to the last completion the task hub recorded: no polling delay in the figure.
        return (done, done.Max(j => j.LastUpdatedAt) - started);
    }

    static async Task<AgentJobPage> ListAsync(HttpClient http, Uri list, string query, CancellationToken cancellationToken) =>
        await http.GetFromJsonAsync<AgentJobPage>(new Uri(list + "?" + query), cancellationToken).ConfigureAwait(false)
        ?? throw new InvalidOperationException("The job list was empty.");

    /// <summary>Removes the run's task hub (queues, tables, containers) so benchmarks leave nothing behind.</summary>
    static async Task DeleteTaskHubAsync(string storage, string hub)
    {
        try
        {
            await new AzureStorageOrchestrationService(AzureStorageDurableBackend.CreateSettings(storage, hub)).DeleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Cleanup only: the numbers are already printed (the provider wraps storage errors in its own internal type).
            Console.Error.WriteLine($"warning: task hub {hub} was not deleted: {ex.Message}");
        }
    }

    sealed record AcceptedJob(string Id);

    sealed record Measurement(int Jobs, int Failures, TimeSpan Wall, IReadOnlyList<int> DeletedPerWorker)
    {
        public double JobsPerSecond => Jobs / Wall.TotalSeconds;
    }
}
