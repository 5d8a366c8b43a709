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
               failure.IsCausedBy<TransientAgentServiceException>();
    }

    static async Task<bool> HandleAsync(RetryContext context, int maxAttempts)
    {
        if (context.LastAttemptNumber >= maxAttempts || !IsTransient(context.LastFailure))
        {
            return false;
        }

        var delay = Delay(context.LastAttemptNumber, TransientAgentServiceException.ParseRetryAfter(context.LastFailure.ErrorMessage));
        await context.OrchestrationContext.CreateTimer(delay, context.CancellationToken);
        return true;
    }
}
