using Microsoft.Extensions.Logging;

namespace AgentJobs.Hosting;

/// <summary>The log messages of the durable hosting layer, source-generated; EventIds are stable and never reused.</summary>
internal static partial class Logs
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "Dropped {Count} message(s) for instance {InstanceId}, which does not exist: {Events}.")]
    public static partial void MessagesDropped(this ILogger logger, int count, string instanceId, string events);
}
