using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Workflow;

/// <summary>
/// Registers the workflow with a portable Durable Task worker (the local host, tests). The Functions app
/// declares the same names with <c>[Function]</c> wrappers; a test keeps the two lists equal.
/// </summary>
public static class AgentJobTasks
{
    /// <summary>Every orchestrator name.</summary>
    public static IReadOnlyList<string> OrchestratorNames { get; } =
        [AgentJobOrchestrator.Name, RunPoller.Name, Batches.AgentBatchOrchestrator.Name, Retention.RetentionScheduleOrchestrator.Name,
         Sessions.AgentSessionOrchestrator.Name, Sessions.AgentTurnOrchestrator.Name, Sessions.AgentSessionRequestOrchestrator.Name];

    /// <summary>Every activity name.</summary>
    public static IReadOnlyList<string> ActivityNames { get; } =
    [
        nameof(AgentJobActivities.CreateAgent),
        nameof(AgentJobActivities.CreateThread),
        nameof(AgentJobActivities.StartRun),
        nameof(AgentJobActivities.GetRun),
        nameof(AgentJobActivities.SubmitToolOutputs),
        nameof(AgentJobActivities.CancelRun),
        nameof(AgentJobActivities.CancelStartedRun),
        nameof(AgentJobActivities.CloseToolCalls),
        nameof(AgentJobActivities.ListMessages),
        nameof(AgentJobActivities.ListRunSteps),
        nameof(AgentJobActivities.DeleteAgent),
        nameof(AgentJobActivities.DeleteThread),
        nameof(AgentJobActivities.ExecuteTool),
        nameof(AgentJobActivities.RequestApprovals),
    ];

    /// <summary>Activities of the operations side (retention), besides the job's own.</summary>
    public static IReadOnlyList<string> OperationsActivityNames { get; } = [Retention.RetentionScheduleOrchestrator.ActivityName];

    /// <summary>Activities of sessions that read and clear their mailbox through the durable client.</summary>
    public static IReadOnlyList<string> SessionActivityNames { get; } =
        [Sessions.AgentSessionOrchestrator.ReadMailboxActivity, Sessions.AgentSessionOrchestrator.CloseMailboxActivity, Sessions.AgentSessionOrchestrator.RemoveRequestActivity];

    /// <summary>Adds the orchestrators and activities; activities resolve <see cref="AgentJobActivities"/> from DI.</summary>
    public static DurableTaskRegistry AddAgentJobTasks(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.AddOrchestrator<AgentJobOrchestrator>(AgentJobOrchestrator.Name);
        registry.AddOrchestrator<RunPoller>(RunPoller.Name);
        registry.AddOrchestrator<Batches.AgentBatchOrchestrator>(Batches.AgentBatchOrchestrator.Name);
        registry.AddOrchestrator<Retention.RetentionScheduleOrchestrator>(Retention.RetentionScheduleOrchestrator.Name);
        registry.AddOrchestrator<Sessions.AgentSessionOrchestrator>(Sessions.AgentSessionOrchestrator.Name);
        registry.AddOrchestrator<Sessions.AgentTurnOrchestrator>(Sessions.AgentTurnOrchestrator.Name);
        registry.AddOrchestrator<Sessions.AgentSessionRequestOrchestrator>(Sessions.AgentSessionRequestOrchestrator.Name);
        registry.AddActivity(Sessions.AgentSessionOrchestrator.ReadMailboxActivity, services => new ClientActivity<string, Sessions.MailboxContents>(
            services, (mailbox, client, sessionId) => mailbox.ReadAsync(client, sessionId)));
        registry.AddActivity(Sessions.AgentSessionOrchestrator.CloseMailboxActivity, services => new ClientActivity<string, Sessions.MailboxContents>(
            services, (mailbox, client, sessionId) => mailbox.CloseAsync(client, sessionId)));
        registry.AddActivity(Sessions.AgentSessionOrchestrator.RemoveRequestActivity, services => new ClientActivity<string, bool>(
            services, (mailbox, client, requestId) => mailbox.RemoveAsync(client, requestId)));
        registry.AddActivity(Retention.RetentionScheduleOrchestrator.ActivityName, services => new PurgeActivity(
            services.GetRequiredService<Retention.RetentionActivities>(), services.GetRequiredService<Microsoft.DurableTask.Client.DurableTaskClient>()));

        Add<CreateAgentInput, AgentRef>(registry, nameof(AgentJobActivities.CreateAgent), (a, i) => a.CreateAgent(i));
        Add<CreateThreadInput, string>(registry, nameof(AgentJobActivities.CreateThread), (a, i) => a.CreateThread(i));
        Add<StartRunInput, RunState>(registry, nameof(AgentJobActivities.StartRun), (a, i) => a.StartRun(i));
        Add<RunRef, RunState>(registry, nameof(AgentJobActivities.GetRun), (a, i) => a.GetRun(i));
        Add<SubmitToolOutputsInput, RunState>(registry, nameof(AgentJobActivities.SubmitToolOutputs), (a, i) => a.SubmitToolOutputs(i));
        Add<CancelRunInput, RunState>(registry, nameof(AgentJobActivities.CancelRun), (a, i) => a.CancelRun(i));
        Add<CancelStartedRunInput, RunState?>(registry, nameof(AgentJobActivities.CancelStartedRun), (a, i) => a.CancelStartedRun(i));
        Add<CloseToolCallsInput, int>(registry, nameof(AgentJobActivities.CloseToolCalls), (a, i) => a.CloseToolCalls(i));
        Add<string, IReadOnlyList<JobMessage>>(registry, nameof(AgentJobActivities.ListMessages), (a, i) => a.ListMessages(i));
        Add<ListRunStepsInput, IReadOnlyList<JobRunStep>>(registry, nameof(AgentJobActivities.ListRunSteps), (a, i) => a.ListRunSteps(i));
        Add<AgentRef, bool>(registry, nameof(AgentJobActivities.DeleteAgent), (a, i) => a.DeleteAgent(i));
        Add<string, bool>(registry, nameof(AgentJobActivities.DeleteThread), (a, i) => a.DeleteThread(i));
        registry.AddActivity(nameof(AgentJobActivities.ExecuteTool), services => new ToolActivity(
            services.GetRequiredService<AgentJobActivities>(), services.GetService<Microsoft.DurableTask.Client.DurableTaskClient>()));
        Add<RequestApprovalsInput, int>(registry, nameof(AgentJobActivities.RequestApprovals), (a, i) => a.RequestApprovals(i));
        return registry;
    }

    static void Add<TInput, TOutput>(DurableTaskRegistry registry, string name, Func<AgentJobActivities, TInput, Task<TOutput>> run) =>
        registry.AddActivity(name, services => new ServiceActivity<TInput, TOutput>(services.GetRequiredService<AgentJobActivities>(), run));

    sealed class PurgeActivity(Retention.RetentionActivities activities, Microsoft.DurableTask.Client.DurableTaskClient client)
        : TaskActivity<DateTimeOffset, Retention.RetentionRun>
    {
        public override Task<Retention.RetentionRun> RunAsync(TaskActivityContext context, DateTimeOffset input) => activities.PurgeExpired(client, input);
    }

    sealed class ClientActivity<TInput, TOutput>(IServiceProvider services, Func<Sessions.SessionMailbox, Microsoft.DurableTask.Client.DurableTaskClient, TInput, Task<TOutput>> run)
        : TaskActivity<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskActivityContext context, TInput input) => run(
            services.GetRequiredService<Sessions.SessionMailbox>(), services.GetRequiredService<Microsoft.DurableTask.Client.DurableTaskClient>(), input);
    }

    sealed class ToolActivity(AgentJobActivities activities, Microsoft.DurableTask.Client.DurableTaskClient? client) : TaskActivity<ToolCallRequest, ToolOutput>
    {
        public override Task<ToolOutput> RunAsync(TaskActivityContext context, ToolCallRequest input) => activities.ExecuteWatchedTool(input, client);
    }

    sealed class ServiceActivity<TInput, TOutput>(AgentJobActivities activities, Func<AgentJobActivities, TInput, Task<TOutput>> run)
        : TaskActivity<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskActivityContext context, TInput input) => run(activities, input);
    }
}
