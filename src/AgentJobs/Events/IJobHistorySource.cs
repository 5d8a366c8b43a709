using DurableTask.Core.History;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Events;

/// <summary>Where the event stream reads orchestration history from.</summary>
public interface IJobHistorySource
{
    /// <summary>The history of the instance's current execution; empty when it has none yet.</summary>
    Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken);
}

/// <summary>
/// History through the Durable client (<see cref="DurableTaskClient.GetOrchestrationHistoryAsync"/>, the gRPC
/// <c>StreamInstanceHistory</c> call), as the Functions host's Durable extension serves it.
/// </summary>
public sealed class DurableClientHistorySource(DurableTaskClient client) : IJobHistorySource
{
    /// <inheritdoc/>
    public async Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        try
        {
            return [.. await client.GetOrchestrationHistoryAsync(instanceId, cancellationToken).ConfigureAwait(false)];
        }
        catch (Exception ex) when (ex is ArgumentException || IsGrpcNotFound(ex))
        {
            // Not started yet (a poller being created, a job whose first episode has not run): no history yet.
            return [];
        }
    }

    // Grpc.Core.RpcException with StatusCode.NotFound, without a reference to the gRPC packages in this library.
    static bool IsGrpcNotFound(Exception ex) =>
        ex.GetType().FullName == "Grpc.Core.RpcException" && ex.GetType().GetProperty("StatusCode")?.GetValue(ex)?.ToString() == "NotFound";
}
