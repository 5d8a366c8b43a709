using Microsoft.DurableTask.Client;

namespace AgentJobs.Application;

/// <summary>
/// Raises external events on orchestrations so that none is lost. The Azure Storage provider (what <c>func start</c>
/// and the Functions app use) can discard an event that reaches an instance still <c>Pending</c>, before its
/// ExecutionStarted message was processed (Azure/durabletask#720). Events are therefore raised only once the
/// instance has left <c>Pending</c>; once it runs, the SDK buffers an event until the orchestrator waits for it.
/// An instance not created yet is waited for the same way: a session publishes its running turn before the turn's
/// sub-orchestration exists, and an event raised then would be refused (the Functions host answers gRPC
/// <c>NotFound</c>) or dropped (the in-memory backend). An instance that ends between the caller's status read and the
/// event is told apart from a failure: the Functions host refuses an event to an instance that is not running (gRPC
/// <c>FailedPrecondition</c>, or <c>NotFound</c> once it is purged), where the local hosts' services drop it.
/// </summary>
public static class JobEvents
{
    /// <summary>What became of an event.</summary>
    public enum RaiseResult
    {
        /// <summary>Delivered to the running instance.</summary>
        Raised,

        /// <summary>Not sent: the instance was still Pending, or not yet created, after <see cref="StartWait"/>; the caller says to retry.</summary>
        NotStarted,

        /// <summary>Not delivered: the instance is no longer running (it completed, failed or was terminated).</summary>
        Ended,
    }

    /// <summary>How long <see cref="RaiseAsync"/> waits for a Pending instance to start (20 s).</summary>
    public static readonly TimeSpan StartWait = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Waits (50 ms doubling to 1 s between status reads, at most <see cref="StartWait"/>) until the instance exists and
    /// is no longer Pending, then raises the event.
    /// </summary>
    public static async Task<RaiseResult> RaiseAsync(DurableTaskClient client, string instanceId, string eventName, object? payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var delay = TimeSpan.FromMilliseconds(50);
        var waited = TimeSpan.Zero;
        while ((await client.GetInstanceAsync(instanceId, getInputsAndOutputs: false, cancellationToken)) is not { } instance
            || instance.RuntimeStatus == OrchestrationRuntimeStatus.Pending)
        {
            if (waited >= StartWait)
            {
                return RaiseResult.NotStarted;
            }

            await Task.Delay(delay, cancellationToken);
            waited += delay;
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.TicksPerSecond));
        }

        try
        {
            await client.RaiseEventAsync(instanceId, eventName, payload, cancellationToken);
            return RaiseResult.Raised;
        }
        catch (Exception ex) when (IsNotRunning(ex))
        {
            return RaiseResult.Ended;
        }
    }

    // Grpc.Core.RpcException with StatusCode.FailedPrecondition ("The orchestration instance with the provided instance
    // id is not running.") or NotFound (it existed a moment ago, so it was purged), without a reference to the gRPC
    // packages in this library.
    static bool IsNotRunning(Exception ex) =>
        ex.GetType().FullName == "Grpc.Core.RpcException"
        && ex.GetType().GetProperty("StatusCode")?.GetValue(ex)?.ToString() is "FailedPrecondition" or "NotFound";
}
