using System.Diagnostics;
using System.Globalization;
using static System.FormattableString;
using AgentJobs.AgentService;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Hosting;
using AgentJobs.Http;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local.Bench;

/// <summary>What to benchmark: every combination of run length, poll hints and concurrency is one scenario.</summary>
/// <param name="Jobs">Concurrent jobs per scenario (e.g. 1, 100, 500).</param>
/// <param name="RunMs">Simulated run lengths in ms (queued 0 ms, then in progress this long).</param>
/// <param name="PollHints">Whether the simulated service sends its <c>retry-after-ms</c> poll hint (real services send none).</param>
/// <param name="StreamWindowSeconds">The stream window of the stream-first workflow.</param>
/// <param name="StockBackend">Use the in-memory backend without the concurrency fix.</param>
public sealed record BenchmarkOptions(
    IReadOnlyList<int> Jobs, IReadOnlyList<int> RunMs, IReadOnlyList<bool> PollHints, int StreamWindowSeconds, bool StockBackend)
{
    /// <summary>Defaults that finish in about a minute on 2 cores.</summary>
    public static BenchmarkOptions Default { get; } = new([1, 100], [200, 2_000], [false], LocalHost.LocalStreamWindowSeconds, StockBackend: false);
}

/// <summary>
/// Side by side, for tool-free jobs against the embedded simulated model with a fixed run length: the durable
/// workflow polling with durable timers (stream window 0), the durable workflow waiting stream-first, the same
/// stream-first calls straight through the agent-service port without Durable (the no-Durable baseline), and the
/// quickstart's loop (read the run, sleep 1 s, repeat; no Durable). Per scenario it prints throughput, end-to-end
/// latency minus the run length, detection lag (the service's moment the run settled → the moment a call of the job
/// saw it; the embedded service shares the process clock), GET-run and agent-service calls per job, history events per
/// job and the peak working set during that mode, then the stream-first workflow's ratios against the seed's loop and
/// against the no-Durable baseline. Ratios compare runs in the same process only; absolute figures depend on the machine.
/// </summary>
public static class Benchmark
{
    const string Prompt = "Hello, tell me a joke";

    /// <summary>Runs the benchmark and prints the report on standard output; exit code 1 when a job failed or an agent was left.</summary>
    public static async Task<int> RunAsync(BenchmarkOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Jobs.Count == 0 || options.Jobs.Any(j => j < 1) || options.RunMs.Count == 0 || options.RunMs.Any(r => r < 0) || options.PollHints.Count == 0)
        {
            Terminal.Fail("--jobs must list numbers of at least 1, --run-ms numbers of at least 0, and --poll-hints on, off or both.");
            return Cli.ConfigurationError;
        }

        if (options.StreamWindowSeconds is < 1 or > PollingSettings.MaxStreamWindowSeconds)
        {
            Terminal.Fail($"--stream-window must be between 1 and {PollingSettings.MaxStreamWindowSeconds} seconds.");
            return Cli.ConfigurationError;
        }

        var history = new HistoryRecordingOrchestrationService(
            null, options.StockBackend ? Environment.ProcessorCount : InMemoryDurableBackend.MaxConcurrentWorkItems);
        var calls = new CallLog();
        LocalAgentServerOptions? service = null;
        var hostOptions = new LocalHostOptions
        {
            LogLevel = LogLevel.Error,
            ConfigureAgentService = s =>
            {
                service = s;
                s.Simulation.QueuedMs = 0;
            },
            ConfigureServices = services =>
            {
                services.AddSingleton<InMemoryOrchestrationService>(history);
                Decorate(services, calls);
            },
        };

        await using var host = await LocalHost.StartAsync(hostOptions, cancellationToken).ConfigureAwait(false);
        var server = host.EmbeddedAgentService!;
        var policy = host.Services.GetRequiredService<AgentJobPolicy>();
        var jobsClient = new AgentJobsClient(host.Client, policy);
        var port = host.Services.GetRequiredService<IAgentService>();
        var polled = policy.Settle(new AgentJobRequest(Prompt, Polling: PollingSettings.Default with { StreamWindowSeconds = 0 }));
        var streamed = policy.Settle(new AgentJobRequest(Prompt, Polling: PollingSettings.Default with { StreamWindowSeconds = options.StreamWindowSeconds }));
        var modes = new Mode[]
        {
            new("durable, polling (before)", ids => RunDurableAsync(jobsClient, polled, ids, cancellationToken), history),
            new("durable, stream-first", ids => RunDurableAsync(jobsClient, streamed, ids, cancellationToken), history),
            new("no Durable, stream-first", ids => RunDirectAsync(port, ids, streamed.Polling.StreamWindow, cancellationToken), null),
            new("seed loop (1 s sleeps)", ids => RunSeedLoopAsync(port, ids, cancellationToken), null),
        };

        Console.Out.WriteLine(
            $"bench: tool-free jobs on the in-memory backend{(options.StockBackend ? " (STOCK caps: ProcessorCount)" : $" (caps {InMemoryDurableBackend.MaxConcurrentWorkItems})")}, " +
            $"stream window {options.StreamWindowSeconds} s, {Environment.ProcessorCount} cores, .NET {Environment.Version}");

        // Warm up every path once: JIT, connections, the sidecar's dispatchers.
        service!.Simulation.InProgressMs = 10;
        foreach (var mode in modes)
        {
            await mode.RunJobs([Guid.NewGuid().ToString("N")]).ConfigureAwait(false);
        }

        var failures = 0;
        foreach (var hints in options.PollHints)
        {
            foreach (var runMs in options.RunMs)
            {
                foreach (var jobs in options.Jobs)
                {
                    service.Simulation.InProgressMs = runMs;
                    service.Simulation.PollHints = hints;
                    Console.Out.WriteLine();
                    Console.Out.WriteLine($"run {runMs} ms, poll hints {(hints ? "on" : "off")}, {jobs} concurrent job(s)");
                    Console.Out.WriteLine($"  {"mode",-27} {"jobs/s",8} {"overhead p50/p95 ms",20} {"detect p50/p95 ms",18} {"GET-run/job",12} {"calls/job",10} {"history/job",12} {"peak WS MB",11}");
                    var results = new Dictionary<Mode, Scenario>();
                    foreach (var mode in modes)
                    {
                        var scenario = await MeasureAsync(mode, jobs, runMs, calls, server).ConfigureAwait(false);
                        results[mode] = scenario;
                        failures += scenario.Failures;
                        Console.Out.WriteLine("  " + scenario.Row(mode.Name));
                    }

                    var (polling, stream, direct, seed) = (results[modes[0]], results[modes[1]], results[modes[2]], results[modes[3]]);
                    Console.Out.WriteLine($"  stream-first vs seed loop:   {stream.Compare(seed)}");
                    Console.Out.WriteLine($"  stream-first vs no Durable:  {stream.Compare(direct)}");
                    Console.Out.WriteLine($"  stream-first vs polling:     {stream.Compare(polling)}");
                }
            }
        }

        var stats = await server.GetStatsAsync().ConfigureAwait(false);
        Console.Out.WriteLine();
        Console.Out.WriteLine($"agent service after: {stats.Assistants} live assistants, {stats.AssistantsCreated} created, {stats.AssistantsDeleted} deleted");
        if (failures > 0 || stats.Assistants != 0)
        {
            Terminal.Fail($"{failures} job(s) did not complete; {stats.Assistants} assistant(s) left behind.");
            return Cli.JobNotCompleted;
        }

        return 0;
    }

    static async Task<Scenario> MeasureAsync(Mode mode, int jobs, int runMs, CallLog calls, LocalAgentServer server)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        mode.History?.Clear();
        calls.Reset();
        using var sampler = new PeakWorkingSet();
        var ids = Enumerable.Range(0, jobs).Select(_ => Guid.NewGuid().ToString("N")).ToList();
        var measured = await mode.RunJobs(ids).ConfigureAwait(false);
        var log = calls.Reset();
        var lags = log.Settled
            .Select(seen => server.TryGetRunSettledAt(seen.Key, out var at) ? (seen.Value - at).TotalMilliseconds : (double?)null)
            .OfType<double>()
            .ToList();
        var history = mode.History is { } h ? ids.Average(h.EventsOf) : (double?)null;
        return new Scenario(measured, runMs, lags, (double)log.Count("GetRun") / jobs, (double)log.Total / jobs, history, sampler.PeakMegabytes);
    }

    static async Task<Measurement> RunDurableAsync(AgentJobsClient jobs, AgentJobSpec request, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        return await MeasureAsync(ids, async id =>
        {
            await jobs.ScheduleAsync(request, id, cancellationToken).ConfigureAwait(false);
            var done = await jobs.WaitForEndAsync(id, cancellationToken).ConfigureAwait(false);
            return done.RuntimeStatus == OrchestrationRuntimeStatus.Completed &&
                   done.ReadOutputAs<AgentJobResult>() is { Outcome: JobOutcome.Completed, AgentDeleted: true };
        }).ConfigureAwait(false);
    }

    /// <summary>The stream-first workflow's calls in its order, straight through the port: no orchestration, no history.</summary>
    static Task<Measurement> RunDirectAsync(IAgentService service, IReadOnlyList<string> ids, TimeSpan window, CancellationToken cancellationToken) =>
        MeasureAsync(ids, async key =>
        {
            var (agent, thread) = await CreateAsync(service, key, cancellationToken).ConfigureAwait(false);
            var streamed = Stopwatch.StartNew();
            var run = await service.StartRunAsync(agent, thread, Prompt, key + ":run", window, cancellationToken).ConfigureAwait(false);

            // As the workflow does: after the window, poll on the schedule a polled run would have had.
            var (untilNext, delay) = PollDelay.AfterWaiting(PollingSettings.Default, streamed.Elapsed);
            while (!run.IsTerminal)
            {
                await Task.Delay(untilNext, cancellationToken).ConfigureAwait(false);
                run = await service.GetRunAsync(run.Ref, cancellationToken).ConfigureAwait(false);
                delay = PollDelay.Next(PollingSettings.Default, delay, statusChanged: false, run.PollAfterMs);
                untilNext = delay;
            }

            await service.ListMessagesAsync(thread, cancellationToken).ConfigureAwait(false);
            await service.ListRunStepsAsync(thread, [run.RunId], cancellationToken).ConfigureAwait(false);
            return await DeleteAsync(service, agent, cancellationToken).ConfigureAwait(false) && run.Status == AgentRunStatus.Completed;
        });

    /// <summary>The quickstart's loop (../shared/docs/quickstart-seed.md): start the run, then read it once a second until it ends.</summary>
    static Task<Measurement> RunSeedLoopAsync(IAgentService service, IReadOnlyList<string> ids, CancellationToken cancellationToken) =>
        MeasureAsync(ids, async key =>
        {
            var (agent, thread) = await CreateAsync(service, key, cancellationToken).ConfigureAwait(false);
            var run = await service.StartRunAsync(agent, thread, Prompt, key + ":run", TimeSpan.Zero, cancellationToken).ConfigureAwait(false);
            while (!run.IsTerminal)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                run = await service.GetRunAsync(run.Ref, cancellationToken).ConfigureAwait(false);
            }

            await service.ListMessagesAsync(thread, cancellationToken).ConfigureAwait(false);
            return await DeleteAsync(service, agent, cancellationToken).ConfigureAwait(false) && run.Status == AgentRunStatus.Completed;
        });

    static async Task<(AgentRef Agent, string Thread)> CreateAsync(IAgentService service, string key, CancellationToken cancellationToken)
    {
        var agent = await service.CreateAgentAsync(
            new AgentDefinition(AgentJobDefaults.AgentName, AgentJobDefaults.Model, AgentJobDefaults.Instructions, [], new Dictionary<string, string>()),
            key + ":agent", cancellationToken).ConfigureAwait(false);
        var thread = await service.CreateThreadAsync(key + ":thread", cancellationToken).ConfigureAwait(false);
        return (agent, thread);
    }

    /// <summary>Deletes the agent and keeps the thread, as a job (and the quickstart) does.</summary>
    static Task<bool> DeleteAsync(IAgentService service, AgentRef agent, CancellationToken cancellationToken) =>
        service.DeleteAgentAsync(agent, cancellationToken);

    static async Task<Measurement> MeasureAsync(IReadOnlyList<string> ids, Func<string, Task<bool>> job)
    {
        var wall = Stopwatch.StartNew();
        var results = await Task.WhenAll(ids.Select(async id =>
        {
            var started = wall.Elapsed;
            var ok = await job(id).ConfigureAwait(false);
            return (Latency: wall.Elapsed - started, Ok: ok);
        })).ConfigureAwait(false);
        wall.Stop();
        return new Measurement([.. results.Select(r => r.Latency.TotalMilliseconds)], results.Count(r => !r.Ok), wall.Elapsed);
    }

    static void Decorate(IServiceCollection services, CallLog log)
    {
        var inner = services.Last(d => d.ServiceType == typeof(IAgentService));
        services.Remove(inner);
        services.AddSingleton<IAgentService>(sp => new CountingAgentService(
            inner.ImplementationInstance as IAgentService ?? (IAgentService)inner.ImplementationFactory!(sp), log));
    }

    /// <summary>One way of running jobs: <see cref="RunJobs"/> runs one job per id, all at once.</summary>
    sealed record Mode(string Name, Func<IReadOnlyList<string>, Task<Measurement>> RunJobs, HistoryRecordingOrchestrationService? History);

    sealed record Measurement(IReadOnlyList<double> LatenciesMs, int Failures, TimeSpan Wall)
    {
        public double JobsPerSecond => LatenciesMs.Count / Wall.TotalSeconds;
    }

    /// <summary>One mode's figures in one scenario.</summary>
    sealed record Scenario(Measurement Jobs, int RunMs, IReadOnlyList<double> DetectionLagsMs, double GetRunPerJob, double CallsPerJob, double? HistoryPerJob, double PeakMegabytes)
    {
        public int Failures => Jobs.Failures;

        public double Overhead(int p) => Percentile(Jobs.LatenciesMs, p) - RunMs;

        public double Detection(int p) => DetectionLagsMs.Count == 0 ? double.NaN : Percentile(DetectionLagsMs, p);

        public string Row(string name)
        {
            var history = HistoryPerJob is { } h ? Invariant($"{h:0.0}") : "-";
            var failed = Failures > 0 ? Invariant($"  FAILED {Failures}") : "";
            return Invariant($"{name,-27} {Jobs.JobsPerSecond,8:0.0} {Invariant($"{Overhead(50):0} / {Overhead(95):0}"),20} {Invariant($"{Detection(50):0} / {Detection(95):0}"),18} {GetRunPerJob,12:0.0} {CallsPerJob,10:0.0} {history,12} {PeakMegabytes,11:0}{failed}");
        }

        /// <summary>This mode against another: throughput ×, overhead and detection lag p50 ×, GET-run calls.</summary>
        public string Compare(Scenario other) =>
            Invariant($"throughput {Jobs.JobsPerSecond / other.Jobs.JobsPerSecond:0.00}x, overhead p50 {Ratio(Overhead(50), other.Overhead(50))}, detection lag p50 {Ratio(Detection(50), other.Detection(50))}, GET-run/job {GetRunPerJob:0.0} vs {other.GetRunPerJob:0.0}");

        static string Ratio(double a, double b) => b > 0 && a >= 0 ? Invariant($"{a / b:0.00}x") : Invariant($"{a:0} vs {b:0} ms");

        static double Percentile(IReadOnlyList<double> values, int p)
        {
            var sorted = values.Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
        }
    }

    /// <summary>Samples the process's working set every 20 ms while a mode runs.</summary>
    sealed class PeakWorkingSet : IDisposable
    {
        readonly CancellationTokenSource stop = new();
        readonly Task sampling;
        long peak;

        public PeakWorkingSet()
        {
            sampling = Task.Run(async () =>
            {
                using var process = Process.GetCurrentProcess();
                while (!stop.IsCancellationRequested)
                {
                    process.Refresh();
                    Volatile.Write(ref peak, Math.Max(peak, process.WorkingSet64));
                    try
                    {
                        await Task.Delay(20, stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            });
        }

        public double PeakMegabytes => Volatile.Read(ref peak) / (1024.0 * 1024.0);

        public void Dispose()
        {
            stop.Cancel();
            sampling.GetAwaiter().GetResult();
            stop.Dispose();
        }
    }

    /// <summary>Agent-service calls per operation, and when a call first saw each run settled.</summary>
    sealed class CallLog
    {
        System.Collections.Concurrent.ConcurrentDictionary<string, long> counts = new(StringComparer.Ordinal);
        System.Collections.Concurrent.ConcurrentDictionary<string, DateTimeOffset> settled = new(StringComparer.Ordinal);

        public void Add(string operation) => counts.AddOrUpdate(operation, 1, (_, n) => n + 1);

        public void Saw(RunState run)
        {
            if (run.IsSettled)
            {
                settled.TryAdd(run.RunId, DateTimeOffset.UtcNow);
            }
        }

        public Snapshot Reset()
        {
            var snapshot = new Snapshot(counts, settled);
            counts = new(StringComparer.Ordinal);
            settled = new(StringComparer.Ordinal);
            return snapshot;
        }

        public sealed record Snapshot(IReadOnlyDictionary<string, long> Counts, IReadOnlyDictionary<string, DateTimeOffset> Settled)
        {
            public long Total => Counts.Values.Sum();

            public long Count(string operation) => Counts.GetValueOrDefault(operation);
        }
    }

    sealed class CountingAgentService(IAgentService inner, CallLog log) : IAgentService
    {
        async Task<T> Count<T>(string operation, Task<T> call)
        {
            log.Add(operation);
            return await call.ConfigureAwait(false);
        }

        async Task<RunState> Watch(string operation, Task<RunState> call)
        {
            log.Add(operation);
            var run = await call.ConfigureAwait(false);
            log.Saw(run);
            return run;
        }

        public Task<AgentRef> CreateAgentAsync(AgentDefinition definition, string idempotencyKey, CancellationToken cancellationToken) =>
            Count("CreateAgent", inner.CreateAgentAsync(definition, idempotencyKey, cancellationToken));

        public Task<bool> DeleteAgentAsync(AgentRef agent, CancellationToken cancellationToken) => Count("DeleteAgent", inner.DeleteAgentAsync(agent, cancellationToken));

        public Task<string> CreateThreadAsync(string idempotencyKey, CancellationToken cancellationToken) => Count("CreateThread", inner.CreateThreadAsync(idempotencyKey, cancellationToken));

        public Task<bool> DeleteThreadAsync(string threadId, CancellationToken cancellationToken) => Count("DeleteThread", inner.DeleteThreadAsync(threadId, cancellationToken));

        public Task<RunState> StartRunAsync(AgentRef agent, string threadId, string userMessage, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken) =>
            Watch("StartRun", inner.StartRunAsync(agent, threadId, userMessage, idempotencyKey, streamWindow, cancellationToken));

        public Task<RunState> GetRunAsync(RunRef run, CancellationToken cancellationToken) => Watch("GetRun", inner.GetRunAsync(run, cancellationToken));

        public Task<RunState> SubmitToolOutputsAsync(AgentRef agent, RunRef run, IReadOnlyList<ToolOutput> outputs, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken) =>
            Watch("SubmitToolOutputs", inner.SubmitToolOutputsAsync(agent, run, outputs, idempotencyKey, streamWindow, cancellationToken));

        public Task<RunState> CancelRunAsync(RunState run, string reason, CancellationToken cancellationToken) => Watch("CancelRun", inner.CancelRunAsync(run, reason, cancellationToken));

        public Task<RunState?> CancelStartedRunAsync(string threadId, string idempotencyKey, RunRef? previous, string reason, CancellationToken cancellationToken) =>
            Count("CancelStartedRun", inner.CancelStartedRunAsync(threadId, idempotencyKey, previous, reason, cancellationToken));

        public Task<int> CloseOpenToolCallsAsync(string threadId, string reason, CancellationToken cancellationToken) =>
            Count("CloseToolCalls", inner.CloseOpenToolCallsAsync(threadId, reason, cancellationToken));

        public Task<IReadOnlyList<JobMessage>> ListMessagesAsync(string threadId, CancellationToken cancellationToken) =>
            Count("ListMessages", inner.ListMessagesAsync(threadId, cancellationToken));

        public Task<IReadOnlyList<JobRunStep>> ListRunStepsAsync(string threadId, IReadOnlyList<string> runIds, CancellationToken cancellationToken) =>
            Count("ListRunSteps", inner.ListRunStepsAsync(threadId, runIds, cancellationToken));
    }
}
