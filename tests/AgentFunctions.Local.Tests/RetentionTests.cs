using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Retention;
using AgentJobs.Workflow;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using AgentJobs.Hosting;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// Retention on both durable backends of the local host (in memory; Azure Storage on Azurite): a finished job and
/// its run pollers are purged once they are older than <c>AgentJobs__RetentionDays</c> (shown by purging "as of" a
/// later time), not before; a running job is never touched; 0 keeps everything; and the one-job purge refuses a
/// running job.
/// </summary>
public sealed class RetentionTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    static readonly PollingSettings Polling = new(InitialDelayMs: 50, MaxDelayMs: 200, PollsPerGeneration: 2, StreamWindowSeconds: 0); // polled: the purge must remove pollers

    public static TheoryData<string> Backends => ["memory", "storage"];

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task Finished_jobs_and_their_pollers_are_purged_after_the_retention_and_running_jobs_are_untouched(string backend)
    {
        await using var host = await StartAsync(backend, retentionDays: 7);
        var client = host.Client;
        var purger = host.Services.GetRequiredService<JobPurger>();

        var finished = await FinishedJobAsync(host);
        var running = await StartJobAsync(host);
        await WaitForPhaseAsync(client, running, JobPhase.Polling);
        var finishedPollers = await OwnedAsync(client, finished);
        Assert.NotEmpty(finishedPollers);

        // Six days on: still kept.
        var early = await purger.PurgeExpiredAsync(client, DateTimeOffset.UtcNow.AddDays(6), TestContext.Current.CancellationToken);
        Assert.Equal(0, early.Purged);
        Assert.NotNull(await client.GetInstanceAsync(finished, TestContext.Current.CancellationToken));

        // Eight days on: the finished job and every poller are gone; the running job is not.
        var late = await purger.PurgeExpiredAsync(client, DateTimeOffset.UtcNow.AddDays(8), TestContext.Current.CancellationToken);
        Assert.True(late.Purged >= 1, $"purged {late}");
        Assert.True(late.Instances >= 1 + finishedPollers.Count, $"purged {late}, pollers {finishedPollers.Count}");
        Assert.Null(await client.GetInstanceAsync(finished, TestContext.Current.CancellationToken));
        Assert.Empty(await OwnedAsync(client, finished));
        var stillRunning = await client.GetInstanceAsync(running, TestContext.Current.CancellationToken);
        Assert.Equal(OrchestrationRuntimeStatus.Running, stillRunning?.RuntimeStatus);
        Assert.NotEmpty(await OwnedAsync(client, running));

        // Purging one job refuses while it runs, and works once it has finished.
        Assert.Equal(PurgeOutcome.StillRunning, await purger.PurgeAsync(client, running, AgentJobOrchestrator.Name, TestContext.Current.CancellationToken));
        await CancelAsync(client, running);
        var one = await purger.PurgeAsync(client, running, AgentJobOrchestrator.Name, TestContext.Current.CancellationToken);
        Assert.True(one is { Found: true, Running: false, Instances: >= 2 }, $"{one}");
        Assert.Null(await client.GetInstanceAsync(running, TestContext.Current.CancellationToken));
        Assert.Empty(await OwnedAsync(client, running));
        Assert.Equal(PurgeOutcome.NotFound, await purger.PurgeAsync(client, running, AgentJobOrchestrator.Name, TestContext.Current.CancellationToken));
    }

    /// <summary>
    /// A job purged before its deadline still has deadline timers due: when they fire the instance stays gone and
    /// nothing fails (in memory they made the stock backend redispatch an empty instance ~20,000 times a second).
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_job_purged_before_its_deadline_stays_gone_when_its_deadline_timers_fire(string backend)
    {
        var errors = new ErrorLog();
        await using var host = await StartAsync(backend, retentionDays: 7, errors);
        var started = DateTime.UtcNow;
        var id = await StartJobAsync(host, maxDurationSeconds: 4);
        await WaitForPhaseAsync(host.Client, id, JobPhase.Polling);
        await CancelAsync(host.Client, id);
        var purged = await host.Services.GetRequiredService<JobPurger>().PurgeAsync(host.Client, id, AgentJobOrchestrator.Name, TestContext.Current.CancellationToken);
        Assert.True(purged is { Found: true, Running: false }, $"{purged}");
        var memory = host.Services.GetService<Microsoft.DurableTask.Testing.Sidecar.InMemoryOrchestrationService>() as HistoryKeepingOrchestrationService;
        if (memory is not null)
        {
            Assert.Null(await memory.GetOrchestrationHistoryAsync(id, null!)); // purging freed the job's kept history
        }

        // Past the deadline (the timers fire then): in memory the dropped timer messages show it happened.
        var until = started.AddSeconds(4 + 20);
        while (DateTime.UtcNow < started.AddSeconds(4 + 3) || (memory is { DroppedMessages: 0 } && DateTime.UtcNow < until))
        {
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.True(memory is null || memory.DroppedMessages > 0, "no timer of the purged job fired");
        Assert.Null(await host.Client.GetInstanceAsync(id, TestContext.Current.CancellationToken));
        Assert.Empty(errors.Entries);

        // The host goes on working.
        var next = await StartJobAsync(host);
        await WaitForPhaseAsync(host.Client, next, JobPhase.Polling);
        await CancelAsync(host.Client, next);
        Assert.Empty(errors.Entries);
    }

    [Fact]
    public async Task Retention_zero_keeps_finished_jobs_forever()
    {
        await using var host = await StartAsync("memory", retentionDays: 0);
        var finished = await FinishedJobAsync(host);

        var run = await host.Services.GetRequiredService<JobPurger>().PurgeExpiredAsync(host.Client, DateTimeOffset.UtcNow.AddYears(10), TestContext.Current.CancellationToken);

        Assert.Null(run.Threshold);
        Assert.Equal(0, run.Instances);
        Assert.NotNull(await host.Client.GetInstanceAsync(finished, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Negative_retention_is_refused_naming_the_setting()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["AgentJobs:RetentionDays"] = "-1" }).Build();
        var ex = Assert.Throws<ArgumentException>(() => RetentionOptions.FromConfiguration(configuration));
        Assert.Contains("AgentJobs__RetentionDays", ex.Message, StringComparison.Ordinal);
        Assert.Equal(7, RetentionOptions.FromConfiguration(new ConfigurationBuilder().Build()).RetentionDays);
    }

    async Task<LocalHost> StartAsync(string backend, int retentionDays, ErrorLog? errors = null)
    {
        var options = new LocalHostOptions
        {
            // Runs stay in progress for a minute: a job finishes only when it is cancelled, so nothing depends on timing.
            SimulatedRunMs = 60_000,
            Storage = backend == "storage" ? azurite.ConnectionString : null,
            TaskHub = "retention" + Guid.NewGuid().ToString("N")[..12],
        };
        options.Settings["AgentJobs:RetentionDays"] = retentionDays.ToString(System.Globalization.CultureInfo.InvariantCulture);
        options.ConfigureAgentService = service => service.Simulation.CancellingMs = 20;
        if (errors is not null)
        {
            options.ConfigureServices = services => services.AddSingleton<ILoggerProvider>(errors);
        }

        return await LocalHost.StartAsync(options, TestContext.Current.CancellationToken);
    }

    static Task<string> StartJobAsync(LocalHost host, int? maxDurationSeconds = null) =>
        host.Client.ScheduleNewOrchestrationInstanceAsync(
            AgentJobOrchestrator.Name,
            host.Services.GetRequiredService<AgentJobPolicy>().Settle(new AgentJobRequest("Hello", MaxDurationSeconds: maxDurationSeconds, Polling: Polling)),
            TestContext.Current.CancellationToken);

    /// <summary>A job that polled (so it has pollers) and then finished because it was cancelled.</summary>
    static async Task<string> FinishedJobAsync(LocalHost host)
    {
        var id = await StartJobAsync(host);
        await WaitForPhaseAsync(host.Client, id, JobPhase.Polling);
        await CancelAsync(host.Client, id);
        return id;
    }

    static async Task CancelAsync(DurableTaskClient client, string id)
    {
        Assert.Equal(JobEvents.RaiseResult.Raised, await JobEvents.RaiseAsync(client, id, AgentJobOrchestrator.CancelEventName, "retention test", TestContext.Current.CancellationToken));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(JobOutcome.Cancelled, done.ReadOutputAs<AgentJobResult>()!.Outcome);
    }

    static async Task WaitForPhaseAsync(DurableTaskClient client, string id, JobPhase phase)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var instance = await client.GetInstanceAsync(id, getInputsAndOutputs: true, TestContext.Current.CancellationToken);
            if (instance?.ReadCustomStatusAs<JobProgress>()?.Phase == phase)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"job {id} never reached {phase}: {instance?.RuntimeStatus} {instance?.SerializedCustomStatus} {instance?.FailureDetails?.ErrorMessage}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    static async Task<List<string>> OwnedAsync(DurableTaskClient client, string id)
    {
        var owned = new List<string>();
        await foreach (var instance in client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = InstanceIds.OwnedPrefix(id) }))
        {
            owned.Add(instance.InstanceId);
        }

        Assert.All(owned, o => Assert.StartsWith(id + ":poll:", o, StringComparison.Ordinal));
        return owned;
    }

    /// <summary>Errors any part of the host logs.</summary>
    sealed class ErrorLog : ILoggerProvider
    {
        readonly System.Collections.Concurrent.ConcurrentQueue<string> entries = new();

        public IReadOnlyCollection<string> Entries => entries;

        public ILogger CreateLogger(string categoryName) => new Logger(categoryName, entries);

        public void Dispose()
        {
        }

        sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Error;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    entries.Enqueue($"{category}: {formatter(state, exception)} {exception?.GetType().Name}");
                }
            }
        }
    }
}
