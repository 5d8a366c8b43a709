using System.Security.Cryptography;
using System.Text;

namespace AgentJobs.AgentService.Foundry;

/// <summary>
/// Makes a job's agent name valid for the Foundry Agent Service (alphanumeric at both ends, hyphens inside,
/// at most 63 characters) and unique per job: agents are addressed by name, so two jobs sharing "my-agent"
/// would otherwise delete each other's agent.
/// </summary>
public static class AgentNames
{
    /// <summary>The service's limit.</summary>
    public const int MaxLength = 63;

    const int SuffixLength = 12;

    /// <summary>A valid, job-unique name: the requested name cleaned up, plus a hash of the job's key.</summary>
    public static string ForJob(string requestedName, string jobKey)
    {
        ArgumentNullException.ThrowIfNull(requestedName);
        ArgumentNullException.ThrowIfNull(jobKey);

        var cleaned = new StringBuilder(requestedName.Length);
        foreach (var c in requestedName.ToLowerInvariant())
        {
            var keep = char.IsAsciiLetterOrDigit(c) ? c : '-';
            if (keep != '-' || (cleaned.Length > 0 && cleaned[^1] != '-'))
            {
                cleaned.Append(keep);
            }
        }

        var stem = cleaned.ToString().Trim('-');
        if (stem.Length > MaxLength - SuffixLength - 1)
        {
            stem = stem[..(MaxLength - SuffixLength - 1)].TrimEnd('-');
        }

        if (stem.Length == 0)
        {
            stem = "agent";
        }

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(jobKey)))[..SuffixLength];
        return $"{stem}-{hash}";
    }
}
