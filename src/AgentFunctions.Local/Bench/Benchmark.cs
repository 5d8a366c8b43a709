using System.Collections.Concurrent;
using System.Diagnostics;
using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Hosting;
using AgentJobs.Http;
using AgentJobs.Workflow;
using DurableTask.Core;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local.Bench;

/// <summary>What to benchmark.</summary>
/// <param name="Jobs">Concurrent jobs.</param>
/// <param name="RunMs">Simulated run length (queued 0 ms + in progress this long).</param>
/// <param name="Baseline">Also drive the same jobs straight through the agent-service port, without Durable.</param>
/// <param name="StockBackend">Use the in-memory backend without the concurrency fix.</param>
public sealed record BenchmarkOptions(int Jobs, int RunMs, bool Baseline, bool StockBackend);

/// <summary>
/// N concurrent jobs on the in-memory backend against the embedded simulated model with a fixed run length.
/// Reports throughput, end-to-end latency minus the run length (the durable overhead), agent-service calls and
/// history events per job, peak working set, and the same N jobs driven without Durable for a ratio.
/// </summary>
public static class Benchmark
{
    /// <summary>Runs the benchmark and prints the report on standard output.</summary>
    public static async Task<int> RunAsync(BenchmarkOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Jobs < 1 || options.RunMs < 0)
        {
            Terminal.Fail("--jobs must be at least 1 and --run-ms at least 0.");
            return Cli.ConfigurationError;
        }

        var history = new HistoryRecordingOrchestrationService(
            null, options.StockBackend ? Environment.ProcessorCount : InMemoryDurableBackend.MaxConcurrentWorkItems);
        var calls = new CallCounter();
        var hostOptions = new LocalHostOptions
        {
            LogLevel = LogLevel.Error,
            ConfigureAgentService = service =>
            {
                service.Simulation.QueuedMs = 0;
                service.Simulation.InProgressMs = options.RunMs;
            },
            ConfigureServices = services =>
            {
                services.AddSingleton<InMemoryOrchestrationService>(history);
                Decorate(services, calls);
            },
        };

        await using var host = await LocalHost.StartAsync(hostOptions, cancellationToken).ConfigureAwait(false);
        var request = host.Services.GetRequiredService<AgentJobPolicy>().Settle(new AgentJobRequest("Hello, tell me a joke"));
        Console.Out.WriteLine($"bench: {options.Jobs} concurrent jobs, simulated run {options.RunMs} ms, backend in-memory{(options.StockBackend ? " (STOCK caps: ProcessorCount)" : $" (caps {AgentJobs.Hosting.InMemoryDurableBackend.MaxConcurrentWorkItems})")}, {Environment.ProcessorCount} cores");

        // Warm up: JIT, connections, the sidecar's dispatchers.
        await RunDurableAsync(host.Client, request, 1, cancellationToken).ConfigureAwait(false);
        history.Clear();
        calls.Reset();

        var durable = await RunDurableAsync(host.Client, request, options.Jobs, cancellationToken).ConfigureAwait(false);
        var durableCalls = calls.Reset();
        var events = durable.Ids.Select(id => history.EventsOf(id)).ToList();
        Report("durable", durable, options, durableCalls, events.Count == 0 ? 0 : events.Average());

        Measurement? baseline = null;
        if (options.Baseline)
        {
            var service = host.Services.GetRequiredService<IAgentService>();
            await RunDirectAsync(service, request, 1, cancellationToken).ConfigureAwait(false);
            calls.Reset();
            baseline = await RunDirectAsync(service, request, options.Jobs, cancellationToken).ConfigureAwait(false);
            Report("baseline (same calls through the agent-service port, no Durable)", baseline, options, calls.Reset(), historyPerJob: null);
        }

        var stats = await host.EmbeddedAgentService!.GetStatsAsync().ConfigureAwait(false);
        Console.Out.WriteLine($"  peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)} MB (whole process: durable backend, worker, agent service)");
        Console.Out.WriteLine($"  agent service after: {stats.Assistants} live assistants, {stats.AssistantsCreated} created, {stats.AssistantsDeleted} deleted");
        if (baseline is not null)
        {
            Console.Out.WriteLine(
                $"  ratio durable/baseline: throughput {durable.JobsPerSecond / baseline.JobsPerSecond:0.00}x, " +
                $"p50 latency {durable.Percentile(50) / baseline.Percentile(50):0.00}x, p95 latency {durable.Percentile(95) / baseline.Percentile(95):0.00}x");
        }

        var failed = durable.Failures + (baseline?.Failures ?? 0);
        if (failed > 0 || stats.Assistants != 0)
        {
            Terminal.Fail($"{failed} job(s) did not complete; {stats.Assistants} assistant(s) left behind.");
            return Cli.JobNotCompleted;
        }

        return 0;
    }

    static void Report(string name, Measurement m, BenchmarkOptions options, long calls, double? historyPerJob)
    {
        Console.Out.WriteLine($"{name}:");
        Console.Out.WriteLine($"  {m.Count} jobs in {m.Wall.TotalSeconds:0.00} s = {m.JobsPerSecond:0.0} jobs/s; failures {m.Failures}");
        Console.Out.WriteLine(
            $"  end-to-end latency p50 {m.Percentile(50):0} ms, p95 {m.Percentile(95):0} ms; minus the {options.RunMs} ms run: " +
            $"p50 {m.Percentile(50) - options.RunMs:0} ms, p95 {m.Percentile(95) - options.RunMs:0} ms");
        Console.Out.WriteLine($"  agent-service calls per job: {(double)calls / m.Count:0.0}" +
                              (historyPerJob is { } h ? $"; history events per job (job + its pollers): {h:0.0}" : ""));
    }

    static async Task<Measurement> RunDurableAsync(DurableTaskClient client, AgentJobRequest request, int jobs, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, jobs).Select(async _ =>
        {
            var started = wall.Elapsed;
            var id = await client.ScheduleNewOrchestrationInstanceAsync(AgentJobOrchestrator.Name, request, cancellationToken).ConfigureAwait(false);
            var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
            var ok = done.RuntimeStatus == OrchestrationRuntimeStatus.Completed &&
                     done.ReadOutputAs<AgentJobResult>() is { Outcome: JobOutcome.Completed, AgentDeleted: true };
            return (Id: id, Latency: wall.Elapsed - started, Ok: ok);
        })).ConfigureAwait(false);
        wall.Stop();
        return new Measurement([.. results.Select(r => r.Id)], [.. results.Select(r => r.Latency.TotalMilliseconds)], results.Count(r => !r.Ok), wall.Elapsed);
    }

    /// <summary>The workflow's calls in the workflow's order, straight through the port: no orchestration, no history.</summary>
    static async Task<Measurement> RunDirectAsync(IAgentService service, AgentJobRequest request, int jobs, CancellationToken cancellationToken)
    {
        var wall = Stopwatch.StartNew();
        var results = await Task.WhenAll(Enumerable.Range(0, jobs).Select(async i =>
        {
            var started = wall.Elapsed;
            var key = Guid.NewGuid().ToString("N");
            var agent = await service.CreateAgentAsync(
                new AgentDefinition(AgentJobDefaults.AgentName, AgentJobDefaults.Model, AgentJobDefaults.Instructions, [], new Dictionary<string, string>()), key + ":agent", cancellationToken).ConfigureAwait(false);
            var thread = await service.CreateThreadAsync(key + ":thread", cancellationToken).ConfigureAwait(false);
            var run = await service.StartRunAsync(agent, thread, request.Prompt, key + ":run", cancellationToken).ConfigureAwait(false);
            var delay = TimeSpan.Zero;
            while (!run.IsTerminal)
            {
                delay = PollDelay.Next(PollingSettings.Default, delay, statusChanged: false, run.PollAfterMs);
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                run = await service.GetRunAsync(run.Ref, cancellationToken).ConfigureAwait(false);
            }

            await service.ListMessagesAsync(thread, cancellationToken).ConfigureAwait(false);
            await service.ListRunStepsAsync(thread, [run.RunId], cancellationToken).ConfigureAwait(false);
            var deleted = await service.DeleteAgentAsync(agent, cancellationToken).ConfigureAwait(false);
            return (Id: key, Latency: wall.Elapsed - started, Ok: deleted && run.Status == AgentRunStatus.Completed);
        })).ConfigureAwait(false);
        wall.Stop();
        return new Measurement([.. results.Select(r => r.Id)], [.. results.Select(r => r.Latency.TotalMilliseconds)], results.Count(r => !r.Ok), wall.Elapsed);
    }

    static void Decorate(IServiceCollection services, CallCounter counter)
    {
        var inner = services.Last(d => d.ServiceType == typeof(IAgentService));
        services.Remove(inner);
        services.AddSingleton<IAgentService>(sp => new CountingAgentService(
            inner.ImplementationInstance as IAgentService ?? (IAgentService)inner.ImplementationFactory!(sp), counter));
    }

    sealed record Measurement(IReadOnlyList<string> Ids, IReadOnlyList<double> LatenciesMs, int Failures, TimeSpan Wall)
    {
        public int Count => LatenciesMs.Count;

        public double JobsPerSecond => Count / Wall.TotalSeconds;

        public double Percentile(int p)
        {
            var sorted = LatenciesMs.Order().ToList();
            return sorted[Math.Clamp((int)Math.Ceiling(p / 100.0 * sorted.Count) - 1, 0, sorted.Count - 1)];
        }
    }

    sealed class CallCounter
    {
        long count;

        public void Add() => Interlocked.Increment(ref count);

        public long Reset() => Interlocked.Exchange(ref count, 0);
    }

    sealed class CountingAgentService(IAgentService inner, CallCounter counter) : IAgentService
    {
        T Count<T>(T value)
        {
            counter.Add();
            return value;
        }

        public Task<AgentRef> CreateAgentAsync(AgentDefinition definition, string idempotencyKey, CancellationToken cancellationToken) =>
            Count(inner.CreateAgentAsync(definition, idempotencyKey, cancellationToken));

        public Task<bool> DeleteAgentAsync(AgentRef agent, CancellationToken cancellationToken) => Count(inner.DeleteAgentAsync(agent, cancellationToken));

        public Task<string> CreateThreadAsync(string idempotencyKey, CancellationToken cancellationToken) => Count(inner.CreateThreadAsync(idempotencyKey, cancellationToken));

        public Task<bool> DeleteThreadAsync(string threadId, CancellationToken cancellationToken) => Count(inner.DeleteThreadAsync(threadId, cancellationToken));

        public Task<RunState> StartRunAsync(AgentRef agent, string threadId, string userMessage, string idempotencyKey, CancellationToken cancellationToken) =>
            Count(inner.StartRunAsync(agent, threadId, userMessage, idempotencyKey, cancellationToken));

        public Task<RunState> GetRunAsync(RunRef run, CancellationToken cancellationToken) => Count(inner.GetRunAsync(run, cancellationToken));

        public Task<RunState> SubmitToolOutputsAsync(AgentRef agent, RunRef run, IReadOnlyList<ToolOutput> outputs, string idempotencyKey, CancellationToken cancellationToken) =>
            Count(inner.SubmitToolOutputsAsync(agent, run, outputs, idempotencyKey, cancellationToken));

        public Task<RunState> CancelRunAsync(RunState run, string reason, CancellationToken cancellationToken) => Count(inner.CancelRunAsync(run, reason, cancellationToken));

        public Task<int> CloseOpenToolCallsAsync(string threadId, string reason, CancellationToken cancellationToken) =>
            Count(inner.CloseOpenToolCallsAsync(threadId, reason, cancellationToken));

        public Task<IReadOnlyList<JobMessage>> ListMessagesAsync(string threadId, CancellationToken cancellationToken) =>
            Count(inner.ListMessagesAsync(threadId, cancellationToken));

        public Task<IReadOnlyList<JobRunStep>> ListRunStepsAsync(string threadId, IReadOnlyList<string> runIds, CancellationToken cancellationToken) =>
            Count(inner.ListRunStepsAsync(threadId, runIds, cancellationToken));
    }
}
