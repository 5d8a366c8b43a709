using AgentJobs.Http;
using AgentJobs.Retention;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace AgentFunctions;

/// <summary>
/// Retention in the Functions app: <c>DELETE /api/agent-jobs/{id}</c> (<see cref="JobPurgeApi"/>) and the scheduled
/// purge, an eternal orchestration (<see cref="RetentionScheduleOrchestrator"/>) whose activity purges what finished
/// more than <c>AgentJobs__RetentionDays</c> ago. The HTTP triggers that start work start the schedule once per process.
/// </summary>
public sealed class RetentionFunctions(JobPurgeApi api, RetentionActivities activities, RetentionScheduleStarter retention)
{
    /// <summary>Function name of DELETE /api/agent-jobs/{id}.</summary>
    public const string DeleteName = "DeleteAgentJob";

    /// <summary>Purges a finished job and its pollers: 200; 404 unknown; 409 running.</summary>
    [Function(DeleteName)]
    public async Task<IResult> Delete(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = AgentJobsRoutes.Job)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client)
    {
        ArgumentNullException.ThrowIfNull(request);
        await retention.EnsureStartedAsync(client, request.HttpContext.RequestAborted);
        return await api.DeleteAsync(request, id, client, request.HttpContext.RequestAborted);
    }

    /// <summary>The retention schedule (<see cref="RetentionScheduleOrchestrator"/>).</summary>
    [Function(RetentionScheduleOrchestrator.Name)]
    public static Task<RetentionRun?> RetentionSchedule([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new RetentionScheduleOrchestrator().RunAsync(context, context.GetInput<int>());
    }

    /// <summary>The purge activity: purges what finished more than the retention before <paramref name="now"/>.</summary>
    [Function(RetentionScheduleOrchestrator.ActivityName)]
    public Task<RetentionRun> PurgeExpired([ActivityTrigger] DateTimeOffset now, [DurableClient] DurableTaskClient client) =>
        activities.PurgeExpired(client, now);
}
