namespace LocalAgentService;

/// <summary>The log messages of the local agent service, source-generated; EventIds are stable and never reused.</summary>
internal static partial class Logs
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Error, Message = "Run {RunId} failed in the engine")]
    public static partial void RunFailed(this ILogger logger, Exception exception, string runId);
}
