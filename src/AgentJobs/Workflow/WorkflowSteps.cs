using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>Small pieces every workflow step uses: idempotency keys, cleanup calls and the service's own error text.</summary>
internal static class WorkflowSteps
{
    /// <summary>The idempotency key of one step of this orchestration: the same on every replay and retry.</summary>
    public static string Key(TaskOrchestrationContext context, string step) => $"{context.InstanceId}:{step}";

    /// <summary>A cleanup step: retried hard, and a final failure logged and answered false instead of thrown.</summary>
    public static async Task<bool> TryAsync<TInput>(TaskOrchestrationContext context, string activity, TInput input, TaskOptions retry)
    {
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        try
        {
            await context.CallActivityAsync<object>(activity, input, retry);
            return true;
        }
        catch (TaskFailedException ex)
        {
            log.CleanupActivityFailed(activity, ServiceMessage(ex));
            return false;
        }
    }

    /// <summary>
    /// The failure code of a service call that failed for good: <c>mcp_server_error</c> when an MCP server failed it
    /// (down at job start, without the tool, or still failing after the retries), else <c>agent_service_error</c>.
    /// </summary>
    public static string FailureCode(TaskFailedException ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        for (var failure = ex.FailureDetails; failure is not null; failure = failure.InnerFailure)
        {
            if (Tools.Mcp.TransientMcpServerException.IsMcp(failure.ErrorType))
            {
                return "mcp_server_error";
            }
        }

        return "agent_service_error";
    }

    /// <summary>The service's own words: the failure's message without the Durable wrapper ("Task 'GetRun' (#9) failed with an unhandled exception: ").</summary>
    public static string ServiceMessage(TaskFailedException ex)
    {
        var message = ex.FailureDetails.ErrorMessage;
        while (System.Text.RegularExpressions.Regex.Match(message, @"^Task '[^']+' \(#\d+\) failed with an unhandled exception: ") is { Success: true } wrapper)
        {
            message = message[wrapper.Length..];
        }

        return message;
    }
}
