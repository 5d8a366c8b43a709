namespace AgentJobs.Configuration;

/// <summary>
/// The resolved, validated way to reach the agent service. Built once at startup from
/// <see cref="AgentServiceOptions"/>; a bad or missing setting fails there with a message that names it.
/// </summary>
/// <param name="Protocol">classic or foundry.</param>
/// <param name="BaseUri">The base the client appends its paths to.</param>
/// <param name="ApiKey">The key, or null for Entra tokens.</param>
/// <param name="ApiVersion">The api-version query value, or null for none.</param>
/// <param name="TokenScope">The scope for Entra tokens.</param>
/// <param name="DefaultModel">The model deployment used when a job names none.</param>
/// <param name="NetworkTimeout">Timeout of one call.</param>
public sealed record AgentServiceEndpoint(
    string Protocol,
    Uri BaseUri,
    string? ApiKey,
    string? ApiVersion,
    string TokenScope,
    string DefaultModel,
    TimeSpan NetworkTimeout)
{
    /// <summary>Whether the key goes in an <c>api-key</c> header (Azure) rather than <c>Authorization: Bearer</c>.</summary>
    public bool UsesAzureKeyHeader =>
        BaseUri.Host.EndsWith(".azure.com", StringComparison.OrdinalIgnoreCase);

    /// <summary>Validates the options and resolves the endpoint, or throws naming the bad setting.</summary>
    /// <exception cref="AgentServiceConfigurationException">A setting is missing or malformed.</exception>
    public static AgentServiceEndpoint Resolve(AgentServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        var protocol = (options.Protocol ?? AgentProtocols.Classic).Trim().ToLowerInvariant();
        if (!AgentProtocols.All.Contains(protocol))
        {
            throw new AgentServiceConfigurationException(
                $"AgentService:Protocol is '{options.Protocol}'; valid values are: {string.Join(", ", AgentProtocols.All)}.");
        }

        if (string.IsNullOrWhiteSpace(options.Model))
        {
            throw new AgentServiceConfigurationException("AgentService:Model must name a model deployment (e.g. gpt-4o-mini).");
        }

        if (options.NetworkTimeoutSeconds is < 1 or > 3600)
        {
            throw new AgentServiceConfigurationException("AgentService:NetworkTimeoutSeconds must be between 1 and 3600.");
        }

        var timeout = TimeSpan.FromSeconds(options.NetworkTimeoutSeconds);
        var apiKey = string.IsNullOrWhiteSpace(options.ApiKey) ? null : options.ApiKey.Trim();

        if (!string.IsNullOrWhiteSpace(options.Endpoint))
        {
            if (!Uri.TryCreate(options.Endpoint.Trim().TrimEnd('/'), UriKind.Absolute, out var uri) ||
                (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
            {
                throw new AgentServiceConfigurationException(
                    $"AgentService:Endpoint must be an absolute http(s) URL such as https://<resource>.services.ai.azure.com/api/projects/<project>; got '{options.Endpoint}'.");
            }

            if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback)
            {
                throw new AgentServiceConfigurationException(
                    "AgentService:Endpoint uses plain http to a non-loopback host; use https so tokens and keys are never sent in clear text.");
            }

            if (uri.Scheme == Uri.UriSchemeHttp && apiKey is null)
            {
                throw new AgentServiceConfigurationException(
                    "AgentService:Endpoint uses plain http but AgentService:ApiKey is not set; Microsoft Entra tokens are only sent over https. Set a key for a local service, or use https.");
            }

            var isProject = uri.AbsolutePath.Contains("/api/projects/", StringComparison.OrdinalIgnoreCase);
            if (protocol == AgentProtocols.Foundry && !isProject)
            {
                throw new AgentServiceConfigurationException(
                    $"AgentService:Protocol=foundry needs AgentService:Endpoint to be a project endpoint (https://<resource>.services.ai.azure.com/api/projects/<project>); got '{options.Endpoint}'.");
            }

            var apiVersion = options.ApiVersion?.Trim() switch
            {
                null or "" => isProject ? "v1" : null,
                var v when v.Equals("none", StringComparison.OrdinalIgnoreCase) => null,
                var v => v,
            };
            return new AgentServiceEndpoint(protocol, uri, apiKey, apiVersion, options.TokenScope, options.Model, timeout);
        }

        if (!string.IsNullOrWhiteSpace(options.ProjectConnectionString))
        {
            return FromConnectionString(options.ProjectConnectionString, protocol, apiKey, options, timeout);
        }

        throw new AgentServiceConfigurationException(
            $"No agent service is configured: set AgentService:Endpoint (environment variable AgentService__Endpoint) to a Foundry project endpoint or an Assistants-compatible URL, or set {AgentServiceOptions.ConnectionStringSetting}.");
    }

    // The hub-era connection string of the Python quickstart; the SDKs that accepted it built this URL,
    // with management-plane tokens and the 2024-07-01-preview api-version.
    static AgentServiceEndpoint FromConnectionString(string value, string protocol, string? apiKey, AgentServiceOptions options, TimeSpan timeout)
    {
        var parts = value.Split(';', StringSplitOptions.TrimEntries);
        if (parts.Length != 4 || parts.Any(string.IsNullOrEmpty))
        {
            throw new AgentServiceConfigurationException(
                $"{AgentServiceOptions.ConnectionStringSetting} must have four non-empty parts '<HostName>;<SubscriptionId>;<ResourceGroup>;<ProjectName>'; got {parts.Length} part(s).");
        }

        if (protocol != AgentProtocols.Classic)
        {
            throw new AgentServiceConfigurationException(
                $"{AgentServiceOptions.ConnectionStringSetting} addresses a hub-based classic project; with AgentService:Protocol=foundry set AgentService:Endpoint to the project endpoint instead.");
        }

        var host = parts[0].StartsWith("https://", StringComparison.OrdinalIgnoreCase) ? parts[0] : "https://" + parts[0];
        if (!Uri.TryCreate(host, UriKind.Absolute, out var hostUri) || hostUri.AbsolutePath != "/")
        {
            throw new AgentServiceConfigurationException(
                $"{AgentServiceOptions.ConnectionStringSetting}: the first part must be a host name such as eastus.api.azureml.ms; got '{parts[0]}'.");
        }

        var baseUri = new Uri(hostUri,
            $"agents/v1.0/subscriptions/{Uri.EscapeDataString(parts[1])}/resourceGroups/{Uri.EscapeDataString(parts[2])}" +
            $"/providers/Microsoft.MachineLearningServices/workspaces/{Uri.EscapeDataString(parts[3])}");
        var apiVersion = string.IsNullOrWhiteSpace(options.ApiVersion) ? "2024-07-01-preview" : options.ApiVersion.Trim();
        return new AgentServiceEndpoint(protocol, baseUri, apiKey, apiVersion, "https://management.azure.com/.default", options.Model, timeout);
    }
}

/// <summary>A configuration setting is missing or malformed; the message names it.</summary>
public sealed class AgentServiceConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentServiceConfigurationException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentServiceConfigurationException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentServiceConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
