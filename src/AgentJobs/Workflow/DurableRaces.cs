using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>
/// The durable "something or a timer" race, written once (the shape of durabletask-dotnet's
/// <c>WaitForExternalEvent(name, timeout)</c>): a timer on orchestration time raced against tasks the orchestration
/// already holds, and cancelled when one of them wins, so a finished race leaves no timer behind. Only durable tasks
/// take part (timers, events, activities, sub-orchestrations), so a race replays identically.
/// </summary>
internal static class DurableRaces
{
    /// <summary>
    /// Waits for the first of <paramref name="tasks"/> to complete, or for <paramref name="fireAt"/> on orchestration
    /// time. Returns the task that won, or null when the timer fired first.
    /// </summary>
    public static Task<Task?> WhenAnyOrTimerAsync(this TaskOrchestrationContext context, DateTime fireAt, params Task[] tasks) =>
        context.WhenAnyOrTimerAsync(fireAt, CancellationToken.None, tasks);

    /// <summary>
    /// As <see cref="WhenAnyOrTimerAsync(TaskOrchestrationContext, DateTime, Task[])"/>, with the timer also cancelled
    /// by <paramref name="cancellation"/> (e.g. a retry handler's own token).
    /// </summary>
    public static async Task<Task?> WhenAnyOrTimerAsync(this TaskOrchestrationContext context, DateTime fireAt, CancellationToken cancellation, params Task[] tasks)
    {
        using var timers = new RaceTimers(context, cancellation);
        return await timers.RaceAsync(timers.Start(fireAt), tasks);
    }

    /// <summary>
    /// As <see cref="WhenAnyOrTimerAsync(TaskOrchestrationContext, DateTime, CancellationToken, Task[])"/>, with a timer
    /// due <paramref name="delay"/> from now (the context's own <see cref="TaskOrchestrationContext.CreateTimer(TimeSpan, CancellationToken)"/>).
    /// </summary>
    public static async Task<Task?> WhenAnyOrTimerAsync(this TaskOrchestrationContext context, TimeSpan delay, CancellationToken cancellation, params Task[] tasks)
    {
        using var timers = new RaceTimers(context, cancellation);
        return await timers.RaceAsync(timers.Start(delay), tasks);
    }
}

/// <summary>
/// Durable timers that one race (or one wait made of several races) shares and cancels together once it is decided.
/// <see cref="DurableRaces.WhenAnyOrTimerAsync(TaskOrchestrationContext, DateTime, Task[])"/> is the usual way to use
/// it; a wait that keeps its timers across several events (the approval step) holds one itself.
/// </summary>
internal sealed class RaceTimers(TaskOrchestrationContext context, CancellationToken cancellation = default) : IDisposable
{
    readonly CancellationTokenSource source = CancellationTokenSource.CreateLinkedTokenSource(cancellation);

    /// <summary>Starts a timer due at <paramref name="fireAt"/> on orchestration time.</summary>
    public Task Start(DateTime fireAt) => context.CreateTimer(fireAt, source.Token);

    /// <summary>Starts a timer due <paramref name="delay"/> from now on orchestration time.</summary>
    public Task Start(TimeSpan delay) => context.CreateTimer(delay, source.Token);

    /// <summary>
    /// Waits for the first of <paramref name="tasks"/> or <paramref name="timer"/> (one started here); when a task wins,
    /// the timers are cancelled. Returns the task that won, or null when the timer fired first.
    /// </summary>
    public async Task<Task?> RaceAsync(Task timer, Task[] tasks)
    {
        var first = await Task.WhenAny([.. tasks, timer]);
        if (first == timer)
        {
            return null;
        }

        Cancel();
        return first;
    }

    /// <summary>Cancels every timer started here that has not fired.</summary>
    public void Cancel()
    {
        // Synchronous on purpose: CancelAsync would run the timers' continuations off the orchestrator's thread.
#pragma warning disable CA1849
        source.Cancel();
#pragma warning restore CA1849
    }

    /// <inheritdoc/>
    public void Dispose() => source.Dispose();
}
