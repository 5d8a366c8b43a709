using AgentJobs.Events;
using DurableTask.Core;
using DurableTask.Core.History;
using DurableTask.Core.Serializing;
using Newtonsoft.Json.Linq;

namespace AgentJobs.Hosting;

/// <summary>
/// History straight from the orchestration service the local sidecar serves (in-memory or Azure Storage). Used by
/// the local hosts instead of the client's gRPC history call: with the in-process test host's sidecar
/// (0.2.3-preview.1) that call returned no events once an instance had completed, although the service held its
/// whole history (measured: 0 events through the client, 10 KB of history from the service, same instance, same
/// moment).
/// </summary>
/// <remarks>
/// The two services write different JSON: the in-memory one with Durable Task Core's type names (<c>$type</c>), the
/// Azure Storage provider with plain <c>JsonConvert</c>, where each event says only its <c>EventType</c>. Events
/// without a type name get the concrete type their <c>EventType</c> names before they are read.
/// </remarks>
public sealed class OrchestrationServiceHistorySource(IOrchestrationServiceClient service) : IJobHistorySource
{
    static readonly Dictionary<EventType, string> TypeNames = Enum.GetValues<EventType>().ToDictionary(
        t => t,
        t => (t == EventType.ExecutionFailed ? typeof(ExecutionCompletedEvent)
              : typeof(HistoryEvent).Assembly.GetType($"DurableTask.Core.History.{t}Event")
                ?? typeof(HistoryEvent).Assembly.GetType($"DurableTask.Core.History.{t}")
                ?? typeof(GenericEvent)).AssemblyQualifiedName!);

    /// <inheritdoc/>
    public async Task<IReadOnlyList<HistoryEvent>> GetHistoryAsync(string instanceId, CancellationToken cancellationToken)
    {
        var json = await service.GetOrchestrationHistoryAsync(instanceId, null).WaitAsync(cancellationToken).ConfigureAwait(false);
        return string.IsNullOrEmpty(json) ? [] : Read(json);
    }

    /// <summary>Reads a history array in either service's JSON (see the remarks).</summary>
    public static IReadOnlyList<HistoryEvent> Read(string json)
    {
        var events = JArray.Parse(json);
        foreach (var item in events.OfType<JObject>())
        {
            if (item["$type"] is null && item["EventType"] is { } eventType)
            {
                var type = eventType.Type == JTokenType.Integer
                    ? (EventType)eventType.Value<int>()
                    : Enum.Parse<EventType>(eventType.Value<string>()!);
                item.AddFirst(new JProperty("$type", TypeNames[type]));
            }
        }

        return JsonDataConverter.Default.Deserialize<List<HistoryEvent>>(events.ToString(Newtonsoft.Json.Formatting.None)) ?? [];
    }
}
