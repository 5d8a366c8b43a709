using System.Globalization;
using System.Text.RegularExpressions;

namespace AgentJobs.AgentService;

/// <summary>
/// The agent service refused a call for a reason retrying will not fix (a 4xx other than 408/429).
/// The message is the service's own.
/// </summary>
public class AgentServiceException : Exception
{
    /// <summary>Creates the exception.</summary>
    public AgentServiceException(string message, int? statusCode = null, string? errorCode = null, Exception? innerException = null)
        : base(message, innerException)
    {
        StatusCode = statusCode;
        ErrorCode = errorCode;
    }

    /// <summary>Creates the exception.</summary>
    public AgentServiceException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentServiceException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public AgentServiceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The HTTP status, when there was a response.</summary>
    public int? StatusCode { get; }

    /// <summary>The service's error code, when it gave one.</summary>
    public string? ErrorCode { get; }
}

/// <summary>
/// A failure worth retrying: 408, 429, 5xx, a dropped connection or a timeout. When the service said when to
/// retry, the delay travels in the message (<c>[retry-after-ms=N]</c>) because that is the part of an
/// activity failure every durable backend carries back to the orchestrator's retry handler.
/// </summary>
public partial class TransientAgentServiceException : AgentServiceException
{
    /// <summary>Creates the exception.</summary>
    public TransientAgentServiceException(string message, int? statusCode = null, TimeSpan? retryAfter = null, Exception? innerException = null)
        : base(WithRetryAfter(message, retryAfter), statusCode, null, innerException)
    {
        RetryAfter = retryAfter;
    }

    /// <summary>Creates the exception.</summary>
    public TransientAgentServiceException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public TransientAgentServiceException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public TransientAgentServiceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>How long the service asked us to wait, when it said.</summary>
    public TimeSpan? RetryAfter { get; }

    /// <summary>Reads the retry-after hint back from a failure message written by this type.</summary>
    public static TimeSpan? ParseRetryAfter(string? message)
    {
        if (message is null)
        {
            return null;
        }

        var match = RetryAfterPattern().Match(message);
        return match.Success ? TimeSpan.FromMilliseconds(long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture)) : null;
    }

    static string WithRetryAfter(string message, TimeSpan? retryAfter) =>
        retryAfter is { } delay
            ? string.Create(CultureInfo.InvariantCulture, $"{message} [retry-after-ms={(long)Math.Ceiling(delay.TotalMilliseconds)}]")
            : message;

    [GeneratedRegex(@"\[retry-after-ms=(\d+)\]")]
    private static partial Regex RetryAfterPattern();
}
