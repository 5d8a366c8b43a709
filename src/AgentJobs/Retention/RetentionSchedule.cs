using AgentJobs.Application;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Retention;

/// <summary>
/// The Functions app's scheduled purge: an eternal orchestration (instance <see cref="InstanceId"/>) that runs the
/// <see cref="ActivityName"/> activity with its orchestration time as "now", waits
/// <see cref="RetentionOptions.PurgeIntervalMinutes"/> on a durable timer and continues as new (history stays at one
/// cycle). A timer trigger would need the WebJobs timer extension, which the app does not ship; this needs nothing
/// but Durable. HTTP triggers start it once per worker process (<see cref="RetentionScheduleStarter"/>).
/// </summary>
public sealed class RetentionScheduleOrchestrator : TaskOrchestrator<int, RetentionRun?>
{
    /// <summary>The orchestrator name.</summary>
    public const string Name = "AgentJobsRetention";

    /// <summary>The one instance's id.</summary>
    public const string InstanceId = "agent-jobs-retention";

    /// <summary>The purge activity's name (input: the time to purge as of; output: <see cref="RetentionRun"/>).</summary>
    public const string ActivityName = "PurgeExpiredAgentJobs";

    /// <summary>One cycle: purge, wait <paramref name="intervalMinutes"/> minutes, continue as new.</summary>
    public override async Task<RetentionRun?> RunAsync(TaskOrchestrationContext context, int intervalMinutes)
    {
        ArgumentNullException.ThrowIfNull(context);
        var interval = Math.Max(1, intervalMinutes);
        RetentionRun? run = null;
        try
        {
            run = await context.CallActivityAsync<RetentionRun>(ActivityName, new DateTimeOffset(context.CurrentUtcDateTime, TimeSpan.Zero));
        }
        catch (TaskFailedException ex)
        {
            context.CreateReplaySafeLogger<RetentionScheduleOrchestrator>().RetentionScheduleFailed(ex.FailureDetails.ErrorMessage);
        }

        await context.CreateTimer(context.CurrentUtcDateTime.AddMinutes(interval), CancellationToken.None);
        context.ContinueAsNew(interval, preserveUnprocessedEvents: false);
        return run;
    }
}

/// <summary>Starts the Functions app's <see cref="RetentionScheduleOrchestrator"/> once per process (DI singleton).</summary>
public sealed class RetentionScheduleStarter(RetentionOptions options, ILogger<RetentionScheduleStarter> logger)
{
    int started;

    /// <summary>
    /// Starts the schedule unless it runs (checked once per process; a concurrent start by another worker is
    /// harmless). Does nothing when the retention is 0. Never throws: a failure is logged and tried again next time.
    /// </summary>
    public async Task EnsureStartedAsync(DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (!options.PurgesExpired || Interlocked.Exchange(ref started, 1) == 1)
        {
            return;
        }

        try
        {
            if (await new AgentRetentionClient(client).EnsureScheduleAsync(options.PurgeIntervalMinutes, cancellationToken).ConfigureAwait(false))
            {
                logger.RetentionScheduleStarted(options.RetentionDays, options.PurgeIntervalMinutes);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Volatile.Write(ref started, 0);
            logger.RetentionScheduleNotStarted(ex);
        }
    }
}

/// <summary>The purge activity (<see cref="RetentionScheduleOrchestrator.ActivityName"/>).</summary>
public sealed class RetentionActivities(JobPurger purger)
{
    /// <summary>Purges what finished more than the retention before <paramref name="now"/>. Idempotent.</summary>
    public Task<RetentionRun> PurgeExpired(DurableTaskClient client, DateTimeOffset now) => purger.PurgeExpiredAsync(client, now);
}
