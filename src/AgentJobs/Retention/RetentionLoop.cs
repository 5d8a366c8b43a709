using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Retention;

/// <summary>
/// The local host's scheduled purge: every <see cref="RetentionOptions.PurgeIntervalMinutes"/> (first run one minute
/// after start) it purges what finished more than <see cref="RetentionOptions.RetentionDays"/> ago
/// (<see cref="JobPurger.PurgeExpiredAsync"/>). Does nothing when the retention is 0. The Functions app uses a timer
/// trigger instead (<c>RetentionFunctions</c>).
/// </summary>
public sealed class RetentionLoop(JobPurger purger, DurableTaskClient client, TimeProvider time, ILogger<RetentionLoop> logger) : BackgroundService
{
    /// <summary>Delay before the first purge after start.</summary>
    public static readonly TimeSpan FirstRunDelay = TimeSpan.FromMinutes(1);

    /// <inheritdoc/>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!purger.Options.PurgesExpired)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromMinutes(purger.Options.PurgeIntervalMinutes), time);
        try
        {
            await Task.Delay(FirstRunDelay, time, stoppingToken).ConfigureAwait(false);
            do
            {
                try
                {
                    await purger.PurgeExpiredAsync(client, time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.RetentionLoopFailed(ex, purger.Options.PurgeIntervalMinutes);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
