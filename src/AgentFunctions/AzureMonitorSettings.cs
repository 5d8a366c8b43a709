using Azure.Core;
using Azure.Identity;

namespace AgentFunctions;

/// <summary>
/// Reads the Application Insights settings the platform and infra use (<c>APPLICATIONINSIGHTS_CONNECTION_STRING</c>,
/// <c>APPLICATIONINSIGHTS_AUTHENTICATION_STRING</c>) for the Azure Monitor OpenTelemetry exporter, which takes the
/// connection string but not the authentication string: that one becomes the exporter's credential.
/// </summary>
public static class AzureMonitorSettings
{
    /// <summary>The connection string setting (identifies the Application Insights component).</summary>
    public const string ConnectionStringSetting = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>
    /// The authentication string setting: <c>Authorization=AAD</c> for Entra ID ingestion with the system-assigned
    /// identity, plus <c>ClientId=&lt;client id&gt;</c> for a user-assigned one (the form Azure Functions documents).
    /// </summary>
    public const string AuthenticationStringSetting = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";

    /// <summary>
    /// The managed identity credential an authentication string asks for, or null when it does not ask for Entra ID
    /// (then the exporter sends with the connection string's instrumentation key alone, which a component with local
    /// authentication disabled refuses).
    /// </summary>
    public static TokenCredential? Credential(string? authenticationString)
    {
        if (string.IsNullOrWhiteSpace(authenticationString))
        {
            return null;
        }

        var parts = authenticationString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => part.Split('=', 2, StringSplitOptions.TrimEntries))
            .Where(pair => pair.Length == 2)
            .GroupBy(pair => pair[0], StringComparer.OrdinalIgnoreCase)
            .ToDictionary(group => group.Key, group => group.Last()[1], StringComparer.OrdinalIgnoreCase);
        if (!parts.TryGetValue("Authorization", out var authorization) || !string.Equals(authorization, "AAD", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        return parts.TryGetValue("ClientId", out var clientId) && !string.IsNullOrEmpty(clientId)
            ? new ManagedIdentityCredential(ManagedIdentityId.FromUserAssignedClientId(clientId))
            : new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned);
    }
}
