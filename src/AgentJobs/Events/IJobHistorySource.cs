using DurableTask.Core.History;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Events;

/// <summary>
/// Where the event stream reads orchestration history from. A host registers one when it can read history better
/// than its Durable client can (the local hosts read their orchestration service directly); otherwise the stream reads
/// through the request's client (<see cref="DurableClientHistorySource"/>).
/// </summary>
public interface IJobHistorySource
{
    /// <summary>The history of the instance's current execution; empty when it has none yet.</summary>
    Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken);
}

/// <summary>
/// History through the Durable client (<see cref="DurableTaskClient.GetOrchestrationHistoryAsync"/>, the gRPC
/// <c>StreamInstanceHistory</c> call), as the Functions host's Durable extension serves it. Made per request from the
/// client the request holds: in the isolated worker a <see cref="DurableTaskClient"/> arrives through the
/// <c>[DurableClient]</c> binding and is not in the service container, so nothing registered there may need one.
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
