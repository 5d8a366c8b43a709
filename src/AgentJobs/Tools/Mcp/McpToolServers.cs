using System.Text.RegularExpressions;
using AgentJobs.Configuration;
using Microsoft.Extensions.Configuration;

namespace AgentJobs.Tools.Mcp;

/// <summary>
/// One MCP server jobs may take tools from (configuration <c>AgentJobs__McpServers__&lt;name&gt;__…</c>).
/// </summary>
/// <param name="Name">The server's name in tool references (<c>&lt;name&gt;/&lt;tool&gt;</c>): letters, digits and '-', at most 32.</param>
/// <param name="Url">Its Streamable HTTP endpoint (<c>…__Url</c>), absolute http or https.</param>
/// <param name="Headers">Headers sent with every request (<c>…__Headers__&lt;header&gt;</c>), e.g. an API key. Values are never logged.</param>
/// <param name="AllowedTools">Tool names jobs may use (<c>…__AllowedTools</c>, comma-separated or an array); null allows every tool the server lists.</param>
/// <param name="Timeout">Longest wait for one request to the server (<c>…__TimeoutSeconds</c>, default 100 s).</param>
public sealed record McpServerSettings(
    string Name,
    Uri Url,
    IReadOnlyDictionary<string, string> Headers,
    IReadOnlySet<string>? AllowedTools,
    TimeSpan Timeout)
{
    /// <summary>Whether jobs may use the tool of that name.</summary>
    public bool Allows(string tool) => AllowedTools is null || AllowedTools.Contains(tool);

    /// <summary>The settings without header values, for messages and logs.</summary>
    public override string ToString() =>
        $"MCP server '{Name}' ({Url}; headers: {(Headers.Count == 0 ? "none" : string.Join(", ", Headers.Keys))})";
}

/// <summary>
/// The configured MCP servers (section <c>AgentJobs:McpServers</c>), validated when the host starts: a bad name,
/// URL, header or timeout stops startup with a message naming the setting.
/// </summary>
public sealed partial class McpToolServers
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "AgentJobs:McpServers";

    /// <summary>Default <see cref="McpServerSettings.Timeout"/>.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(100);

    readonly Dictionary<string, McpServerSettings> servers;

    /// <summary>Creates the set (server names are case-insensitive, like configuration keys).</summary>
    public McpToolServers(IEnumerable<McpServerSettings> servers)
    {
        ArgumentNullException.ThrowIfNull(servers);
        this.servers = new Dictionary<string, McpServerSettings>(StringComparer.OrdinalIgnoreCase);
        foreach (var server in servers)
        {
            if (!ValidName().IsMatch(server.Name))
            {
                throw new AgentServiceConfigurationException(
                    $"AgentJobs__McpServers__{server.Name}: an MCP server name may use letters, digits and '-' only, at most 32 characters.");
            }

            if (!this.servers.TryAdd(server.Name, server))
            {
                throw new AgentServiceConfigurationException($"AgentJobs__McpServers__{server.Name} is configured twice.");
            }
        }
    }

    /// <summary>No MCP servers.</summary>
    public static McpToolServers None { get; } = new([]);

    /// <summary>The servers, by name.</summary>
    public IReadOnlyDictionary<string, McpServerSettings> Servers => servers;

    /// <summary>The configured names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. servers.Values.Select(s => s.Name).Order(StringComparer.Ordinal)];

    /// <summary>Finds a server by name (case-insensitive).</summary>
    public bool TryGet(string name, out McpServerSettings server) => servers.TryGetValue(name, out server!);

    /// <summary>Reads and validates <c>AgentJobs:McpServers</c>.</summary>
    /// <exception cref="AgentServiceConfigurationException">A server's setting is missing or malformed; the message names it.</exception>
    public static McpToolServers FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var list = new List<McpServerSettings>();
        foreach (var section in configuration.GetSection(SectionName).GetChildren())
        {
            var setting = $"AgentJobs__McpServers__{section.Key}";
            var url = section["Url"];
            if (string.IsNullOrWhiteSpace(url) ||
                !Uri.TryCreate(url, UriKind.Absolute, out var uri) ||
                (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new AgentServiceConfigurationException(
                    $"{setting}__Url must be the absolute http(s) URL of the server's Streamable HTTP endpoint, e.g. http://127.0.0.1:5300/mcp.");
            }

            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var header in section.GetSection("Headers").GetChildren())
            {
                // Never echo the value: it is usually a secret.
                if (header.Value is null || header.Value.Any(c => c is '\r' or '\n' or '\0') || !ValidHeaderName().IsMatch(header.Key))
                {
                    throw new AgentServiceConfigurationException($"{setting}__Headers__{header.Key} is not a valid HTTP header name and value.");
                }

                headers[header.Key] = header.Value;
            }

            var allowedSection = section.GetSection("AllowedTools");
            var allowed = allowedSection.Value is { } csv
                ? csv.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                : [.. allowedSection.GetChildren().Select(c => c.Value?.Trim()).OfType<string>().Where(v => v.Length > 0)];
            IReadOnlySet<string>? allowedTools = allowedSection.Exists() && !allowed.Contains("*") ? allowed.ToHashSet(StringComparer.Ordinal) : null;

            var timeout = DefaultTimeout;
            if (section["TimeoutSeconds"] is { } seconds)
            {
                if (!int.TryParse(seconds, System.Globalization.CultureInfo.InvariantCulture, out var s) || s is < 1 or > 3600)
                {
                    throw new AgentServiceConfigurationException($"{setting}__TimeoutSeconds must be a whole number of seconds between 1 and 3600.");
                }

                timeout = TimeSpan.FromSeconds(s);
            }

            list.Add(new McpServerSettings(section.Key, uri, headers, allowedTools, timeout));
        }

        return new McpToolServers(list);
    }

    [GeneratedRegex("^[A-Za-z0-9-]{1,32}$")]
    private static partial Regex ValidName();

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")]
    private static partial Regex ValidHeaderName();
}
