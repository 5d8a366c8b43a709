namespace AgentJobs.Http;

/// <summary>Limits of the HTTP API (configuration section <c>AgentJobs</c>).</summary>
public sealed class AgentJobsApiOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "AgentJobs";

    /// <summary>Longest prompt accepted, in characters.</summary>
    public int MaxPromptLength { get; set; } = 32_000;

    /// <summary>Longest instructions accepted, in characters (the classic service's own limit).</summary>
    public int MaxInstructionsLength { get; set; } = 256_000;

    /// <summary>Longest max duration a job may ask for, in seconds (default 24 h).</summary>
    public int MaxDurationSecondsLimit { get; set; } = 86_400;

    /// <summary>Largest <c>maxToolRounds</c> a job may ask for (default 256).</summary>
    public int MaxToolRoundsLimit { get; set; } = 256;

    /// <summary>
    /// Default stream window of jobs that set no <c>polling.streamWindowSeconds</c>, in seconds (0 turns streaming off).
    /// The library default is the Functions app's: 10 s, because a held activity is billed and holds one of
    /// <c>maxConcurrentActivityFunctions</c> slots while it waits; the local host, which pays for neither, sets 60.
    /// </summary>
    public int StreamWindowSeconds { get; set; } = DefaultStreamWindowSeconds;

    /// <summary>The Functions app's default stream window, in seconds.</summary>
    public const int DefaultStreamWindowSeconds = 10;

    /// <summary>Longest idle timeout a session may ask for, in seconds (default 86400: a day).</summary>
    public int MaxSessionIdleSeconds { get; set; } = 86_400;

    /// <summary>
    /// Largest <c>maxTotalTokens</c> a job may ask for, and the budget of jobs that ask for none; null (the default)
    /// leaves token use unbounded unless a job sets a budget.
    /// </summary>
    public long? MaxTotalTokensLimit { get; set; }
}
