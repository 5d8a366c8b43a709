using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;

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
            log.LogError("{Activity} failed: {Message}", activity, ServiceMessage(ex));
            return false;
        }
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
