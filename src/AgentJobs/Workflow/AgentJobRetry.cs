using AgentJobs.AgentService;
using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>
/// Durable retry for agent-service activities: only transient failures (408, 429, 5xx, timeouts, dropped
/// connections) are retried, with exponential backoff, never sooner than the service's retry-after. Anything
/// else fails fast with the service's message. The waits are durable timers, so a retry survives a restart.
/// </summary>
public static class AgentJobRetry
{
    /// <summary>Attempts per activity call, the first included.</summary>
    public const int MaxAttempts = 5;

    /// <summary>Attempts for cleanup calls, which matter most.</summary>
    public const int MaxCleanupAttempts = 8;

    /// <summary>First backoff delay.</summary>
    public static readonly TimeSpan FirstRetryInterval = TimeSpan.FromSeconds(1);

    /// <summary>Backoff cap.</summary>
    public static readonly TimeSpan MaxRetryInterval = TimeSpan.FromSeconds(30);

    /// <summary>Options for ordinary service calls.</summary>
    public static TaskOptions ServiceCalls { get; } = TaskOptions.FromRetryHandler(ctx => HandleAsync(ctx, MaxAttempts));

    /// <summary>Options for cleanup calls (delete agent, delete thread, cancel run).</summary>
    public static TaskOptions Cleanup { get; } = TaskOptions.FromRetryHandler(ctx => HandleAsync(ctx, MaxCleanupAttempts));

    /// <summary>The delay before retry number <paramref name="attempt"/> (1-based) given the service's hint.</summary>
    public static TimeSpan Delay(int attempt, TimeSpan? retryAfter)
    {
        var backoff = TimeSpan.FromTicks((long)Math.Min(
            MaxRetryInterval.Ticks,
            FirstRetryInterval.Ticks * Math.Pow(2, Math.Max(0, attempt - 1))));
        return retryAfter is { } hint && hint > backoff ? hint : backoff;
    }

    /// <summary>Whether a failure is one the retry handler retries.</summary>
    public static bool IsTransient(TaskFailureDetails failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return failure.ErrorType == typeof(TransientAgentServiceException).FullName ||
               failure.ErrorType == typeof(Tools.Mcp.TransientMcpServerException).FullName ||
               failure.IsCausedBy<TransientAgentServiceException>();
    }

    /// <summary>
    /// Options that retry like <see cref="ServiceCalls"/> (or <see cref="Cleanup"/> with <paramref name="maxAttempts"/>)
    /// but never past <paramref name="giveUpAt"/> on orchestration time, and not once <paramref name="interrupt"/>
    /// completes: a retry's wait ends at the limit or at the interrupt and the call then fails, so a job that is asked
    /// to stop (or reaches its deadline) is not held by a service that keeps answering 429 or 5xx.
    /// </summary>
    /// <param name="giveUpAt">When to stop retrying (read before each retry, so it may move).</param>
    /// <param name="interrupt">A task whose completion ends the wait at once (e.g. the cancel request); optional.</param>
    /// <param name="maxAttempts">Attempts, the first included.</param>
    public static TaskOptions Until(Func<DateTime> giveUpAt, Task? interrupt = null, int maxAttempts = MaxAttempts)
    {
        ArgumentNullException.ThrowIfNull(giveUpAt);
        return TaskOptions.FromRetryHandler(ctx => HandleAsync(ctx, maxAttempts, giveUpAt, interrupt));
    }

    static async Task<bool> HandleAsync(RetryContext context, int maxAttempts, Func<DateTime>? giveUpAt = null, Task? interrupt = null)
    {
        if (context.LastAttemptNumber >= maxAttempts || !IsTransient(context.LastFailure) || interrupt is { IsCompleted: true })
        {
            return false;
        }

        // Never sooner than the service's retry-after; a wait that would run past the limit ends at the limit and
        // retries no more, so the caller sees the failure just as its deadline (or grace period) is reached.
        var now = context.OrchestrationContext.CurrentUtcDateTime;
        var delay = Delay(context.LastAttemptNumber, TransientAgentServiceException.ParseRetryAfter(context.LastFailure.ErrorMessage));
        var limit = giveUpAt?.Invoke();
        if (limit <= now)
        {
            return false;
        }

        var retry = limit is null || now + delay <= limit;
        if (!retry)
        {
            delay = limit!.Value - now;
        }
        else
        {
            Telemetry.AgentJobsTelemetry.RetryScheduled(context.OrchestrationContext);
        }

        if (interrupt is null)
        {
            await context.OrchestrationContext.CreateTimer(delay, context.CancellationToken);
            return retry;
        }

        return await context.OrchestrationContext.WhenAnyOrTimerAsync(delay, context.CancellationToken, interrupt) is null && retry;
    }
}
