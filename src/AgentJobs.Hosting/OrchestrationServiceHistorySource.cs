using AgentJobs.Events;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Serializing;

namespace AgentJobs.Hosting;

/// <summary>
/// History straight from the orchestration service the local sidecar serves (in-memory or Azure Storage), in the
/// Durable Task Core JSON both return. Used by the local hosts instead of the client's gRPC history call: with the
/// in-process test host's sidecar (0.2.3-preview.1) that call returned no events once an instance had completed,
/// although the service held its whole history (measured: 0 events through the client, 10 KB of history from the
/// service, same instance, same moment).
/// </summary>
public sealed class OrchestrationServiceHistorySource(IOrchestrationServiceClient service) : IJobHistorySource
{
    /// <inheritdoc/>
    public async Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        var json = await service.GetOrchestrationHistoryAsync(instanceId, null).WaitAsync(cancellationToken).ConfigureAwait(false);
        return string.IsNullOrEmpty(json) ? [] : JsonDataConverter.Default.Deserialize<List<HistoryEvent>>(json) ?? [];
    }
}
