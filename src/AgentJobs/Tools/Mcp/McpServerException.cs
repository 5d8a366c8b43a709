using AgentJobs.AgentService;

namespace AgentJobs.Tools.Mcp;

/// <summary>
/// An MCP server failed a job for good: unreachable or refusing at job start, or without the tool the job names. Its
/// own type so the job's failure says where it came from (code <c>mcp_server_error</c>, not the agent service's).
/// </summary>
public sealed class McpServerException : AgentServiceException
{
    /// <summary>Creates the exception.</summary>
    public McpServerException(string message, int? statusCode = null, Exception? innerException = null)
        : base(message, statusCode, null, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public McpServerException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public McpServerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public McpServerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A transient failure of an MCP server (408, 429, 5xx, a refused or dropped connection): retried like the agent service's.</summary>
public sealed class TransientMcpServerException : TransientAgentServiceException
{
    /// <summary>Creates the exception.</summary>
    public TransientMcpServerException(string message, int? statusCode = null, Exception? innerException = null)
        : base(message, statusCode, null, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public TransientMcpServerException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public TransientMcpServerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public TransientMcpServerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Whether a durable failure's type is one of the MCP server exceptions.</summary>
    public static bool IsMcp(string? errorType) =>
        errorType == typeof(McpServerException).FullName || errorType == typeof(TransientMcpServerException).FullName;
}
