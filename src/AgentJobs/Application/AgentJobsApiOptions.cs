namespace AgentJobs.Application;

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

    /// <summary>
    /// Binds the <c>AgentJobs</c> section and checks every limit, so a bad one stops the host at startup naming the
    /// setting (as an environment variable) instead of refusing every job later.
    /// </summary>
    /// <exception cref="Configuration.AgentServiceConfigurationException">A limit is not a number or out of range.</exception>
    public static AgentJobsApiOptions FromConfiguration(Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SectionName);

        // Every limit is a whole number: say so, naming the setting, before the binder fails on one with its own message.
        foreach (var property in typeof(AgentJobsApiOptions).GetProperties())
        {
            var style = System.Globalization.NumberStyles.AllowLeadingSign;
            var culture = System.Globalization.CultureInfo.InvariantCulture;
            if (section[property.Name] is { Length: > 0 } text
                && !((Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType) == typeof(int)
                    ? int.TryParse(text, style, culture, out _)
                    : long.TryParse(text, style, culture, out _)))
            {
                throw new Configuration.AgentServiceConfigurationException($"AgentJobs__{property.Name} must be a whole number; got '{text}'.");
            }
        }

        var options = new AgentJobsApiOptions();
        Microsoft.Extensions.Configuration.ConfigurationBinder.Bind(section, options);
        return options.Validate() is { } problem ? throw new Configuration.AgentServiceConfigurationException(problem) : options;
    }

    /// <summary>The first limit out of range, as a message naming its setting; null when all are valid.</summary>
    public string? Validate()
    {
        static string Range(string name, long value, long min, long? max = null) =>
            $"AgentJobs__{name} must be {(max is { } top ? $"between {min} and {top}" : $"{min} or more")}; got {value}.";

        return this switch
        {
            { MaxPromptLength: < 1 } => Range(nameof(MaxPromptLength), MaxPromptLength, 1),
            { MaxInstructionsLength: < 1 } => Range(nameof(MaxInstructionsLength), MaxInstructionsLength, 1),
            { MaxDurationSecondsLimit: < 1 } => Range(nameof(MaxDurationSecondsLimit), MaxDurationSecondsLimit, 1),
            { MaxToolRoundsLimit: < 0 } => Range(nameof(MaxToolRoundsLimit), MaxToolRoundsLimit, 0),
            { StreamWindowSeconds: < 0 or > Contracts.PollingSettings.MaxStreamWindowSeconds } =>
                Range(nameof(StreamWindowSeconds), StreamWindowSeconds, 0, Contracts.PollingSettings.MaxStreamWindowSeconds),
            { MaxSessionIdleSeconds: < 1 } => Range(nameof(MaxSessionIdleSeconds), MaxSessionIdleSeconds, 1),
            { MaxTotalTokensLimit: < 1 } => Range(nameof(MaxTotalTokensLimit), MaxTotalTokensLimit.Value, 1),
            _ => null,
        };
    }
}
