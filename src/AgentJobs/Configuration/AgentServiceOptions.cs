namespace AgentJobs.Configuration;

/// <summary>
/// Where the agent service is and how to reach it: the <c>AgentService</c> configuration section
/// (environment variables <c>AgentService__Endpoint</c> …), plus the quickstart's <c>PROJECT_CONNECTION_STRING</c>.
/// </summary>
public sealed class AgentServiceOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "AgentService";

    /// <summary>The quickstart's legacy setting: <c>&lt;HostName&gt;;&lt;SubscriptionId&gt;;&lt;ResourceGroup&gt;;&lt;ProjectName&gt;</c>.</summary>
    public const string ConnectionStringSetting = "PROJECT_CONNECTION_STRING";

    /// <summary>
    /// Which protocol to speak: <c>classic</c> (threads/runs; Foundry classic agents or any Assistants-compatible
    /// endpoint) or <c>foundry</c> (agent versions + conversations + background responses).
    /// </summary>
    public string Protocol { get; set; } = AgentProtocols.Classic;

    /// <summary>
    /// A Foundry project endpoint (<c>https://&lt;resource&gt;.services.ai.azure.com/api/projects/&lt;project&gt;</c>)
    /// or the base URL of any Assistants-compatible service (e.g. <c>http://127.0.0.1:5110/v1</c>).
    /// </summary>
    public string? Endpoint { get; set; }

    /// <summary>An API key. When absent, Microsoft Entra tokens from DefaultAzureCredential are used.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// The <c>api-version</c> query value. Defaults to <c>v1</c> for Foundry project endpoints and to none for
    /// other endpoints; <c>none</c> turns it off.
    /// </summary>
    public string? ApiVersion { get; set; }

    /// <summary>The model deployment used when a job names none.</summary>
    public string Model { get; set; } = Contracts.AgentJobDefaults.Model;

    /// <summary>The token scope for Entra authentication.</summary>
    public string TokenScope { get; set; } = "https://ai.azure.com/.default";

    /// <summary>Network timeout of one call to the service, in seconds.</summary>
    public int NetworkTimeoutSeconds { get; set; } = 100;

    /// <summary>The legacy connection string, bound from <see cref="ConnectionStringSetting"/>.</summary>
    public string? ProjectConnectionString { get; set; }
}

/// <summary>The protocol names accepted by <see cref="AgentServiceOptions.Protocol"/>.</summary>
public static class AgentProtocols
{
    /// <summary>Threads, messages and runs (Foundry classic agents, Assistants-compatible services).</summary>
    public const string Classic = "classic";

    /// <summary>Agent versions, conversations and background responses (current Foundry Agent Service).</summary>
    public const string Foundry = "foundry";

    /// <summary>Every accepted value.</summary>
    public static IReadOnlyList<string> All { get; } = [Classic, Foundry];
}
