using Microsoft.DurableTask.Client;

namespace AgentJobs.Workflow;

/// <summary>
/// Raises external events on orchestrations so that none is lost. The Azure Storage provider (what <c>func start</c>
/// and the Functions app use) can discard an event that reaches an instance still <c>Pending</c>, before its
/// ExecutionStarted message was processed (Azure/durabletask#720). Events are therefore raised only once the
/// instance has left <c>Pending</c>; once it runs, the SDK buffers an event until the orchestrator waits for it.
/// </summary>
public static class JobEvents
{
    /// <summary>How long <see cref="RaiseAsync"/> waits for a Pending instance to start (20 s).</summary>
    public static readonly TimeSpan StartWait = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Waits (50 ms doubling to 1 s between status reads, at most <see cref="StartWait"/>) until the instance is no
    /// longer Pending, then raises the event.
    /// </summary>
    /// <returns>False when the instance was still Pending after the wait: nothing was raised; the caller says to retry.</returns>
    public static async Task<bool> RaiseAsync(DurableTaskClient client, string instanceId, string eventName, object? payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var delay = TimeSpan.FromMilliseconds(50);
        var waited = TimeSpan.Zero;
        while ((await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken))?.RuntimeStatus == OrchestrationRuntimeStatus.Pending)
        {
            if (waited >= StartWait)
            {
                return false;
            }

            await Task.Delay(delay, cancellationToken);
            waited += delay;
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond));
        }

        await client.RaiseEventAsync(instanceId, eventName, payload, cancellationToken);
        return true;
    }
}
