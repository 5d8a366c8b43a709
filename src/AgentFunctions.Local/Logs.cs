using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local;

/// <summary>The log messages of the local host, source-generated; EventIds are stable and never reused.</summary>
internal static partial class Logs
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Debug, Message = "The client went away during {Method} {Path}; the request was dropped ({Exception}).")]
    public static partial void ClientWentAway(this ILogger logger, string method, PathString path, string exception);

    [LoggerMessage(EventId = 2, Level = LogLevel.Debug, Message = "Bad request {Method} {Path}: {Status} {Message}")]
    public static partial void BadRequest(this ILogger logger, string method, PathString path, int status, string message);
}
