using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace AgentJobs.Tools.Mcp;

/// <summary>
/// How jobs name MCP tools and how the agent service sees them.
/// <list type="bullet">
/// <item>A job lists <c>&lt;server&gt;/&lt;tool&gt;</c>, or <c>&lt;server&gt;/*</c> for every allowed tool of the server.</item>
/// <item>The agent sees the function <c>&lt;server&gt;__&lt;tool&gt;</c>, valid for the agent services
/// (<c>^[a-zA-Z0-9_-]{1,64}$</c>). When the tool's name has other characters or the result is longer than 64, the
/// invalid characters become '_', the name is cut to 55 characters and <c>_</c> + 8 hex digits of the SHA-256 of
/// <c>server/tool</c> are appended, so distinct tools keep distinct names.</item>
/// <item>Back from a call, the server is the part before the first <c>__</c> (server names have no '_'); the
/// tool is the one in the server's list whose function name is the called name.</item>
/// </list>
/// </summary>
public static partial class McpToolNames
{
    /// <summary>The tool part that means "every allowed tool of the server".</summary>
    public const string AllTools = "*";

    /// <summary>Separates server and tool in function names.</summary>
    public const string Separator = "__";

    /// <summary>Longest function name the agent services accept.</summary>
    public const int MaxFunctionNameLength = 64;

    /// <summary>Whether a job's tool entry refers to an MCP server (it contains '/').</summary>
    public static bool IsReference(string name) => name?.Contains('/', StringComparison.Ordinal) == true;

    /// <summary>Splits <c>server/tool</c>; false when either part is empty or the tool part has spaces or control characters.</summary>
    public static bool TryParse(string reference, out string server, out string tool)
    {
        server = tool = "";
        if (string.IsNullOrEmpty(reference))
        {
            return false;
        }

        var slash = reference.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == reference.Length - 1)
        {
            return false;
        }

        server = reference[..slash];
        tool = reference[(slash + 1)..];
        return tool.Length <= 128 && !tool.Any(c => char.IsWhiteSpace(c) || char.IsControl(c));
    }

    /// <summary>The function name the agent service sees for a server's tool (deterministic).</summary>
    public static string FunctionName(string server, string tool)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(tool);
        var raw = server + Separator + tool;
        var valid = Invalid().Replace(raw, "_");
        if (valid == raw && raw.Length <= MaxFunctionNameLength)
        {
            return raw;
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(server + "/" + tool)))[..8];
        return valid[..Math.Min(valid.Length, MaxFunctionNameLength - 9)] + "_" + hash;
    }

    /// <summary>The server part of a function name made by <see cref="FunctionName"/>, or null when it has none.</summary>
    public static string? ServerOf(string functionName)
    {
        var at = functionName?.IndexOf(Separator, StringComparison.Ordinal) ?? -1;
        return at > 0 ? functionName![..at] : null;
    }

    [GeneratedRegex("[^a-zA-Z0-9_-]")]
    private static partial Regex Invalid();
}
