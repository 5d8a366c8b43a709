using AgentJobs.AgentService;
using AgentJobs.Batches;
using AgentJobs.Contracts;
using AgentJobs.Retention;
using AgentJobs.Sessions;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Workflow;

/// <summary>
/// The one registry of the workflow's orchestrators and activities: each name with its input and output types and
/// how a portable Durable Task worker (the local host, tests) registers it. The Functions app declares the same
/// names with <c>[Function]</c> wrappers, which a test checks against <see cref="All"/>, so adding a task here and
/// its wrapper there is the whole of it.
/// </summary>
public static class AgentJobTasks
{
    /// <summary>Every orchestrator and activity.</summary>
    public static IReadOnlyList<AgentJobTask> All { get; } =
    [
        Orchestrator<AgentJobOrchestrator>(AgentJobOrchestrator.Name),
        Orchestrator<RunPoller>(RunPoller.Name),
        Orchestrator<AgentBatchOrchestrator>(AgentBatchOrchestrator.Name),
        Orchestrator<RetentionScheduleOrchestrator>(RetentionScheduleOrchestrator.Name),
        Orchestrator<AgentSessionOrchestrator>(AgentSessionOrchestrator.Name),
        Orchestrator<AgentTurnOrchestrator>(AgentTurnOrchestrator.Name),
        Orchestrator<AgentSessionRequestOrchestrator>(AgentSessionRequestOrchestrator.Name),

        Job<CreateAgentInput, AgentRef>(nameof(AgentJobActivities.CreateAgent), (a, i) => a.CreateAgent(i)),
        Job<CreateThreadInput, string>(nameof(AgentJobActivities.CreateThread), (a, i) => a.CreateThread(i)),
        Job<StartRunInput, RunState>(nameof(AgentJobActivities.StartRun), (a, i) => a.StartRun(i)),
        Job<RunRef, RunState>(nameof(AgentJobActivities.GetRun), (a, i) => a.GetRun(i)),
        Job<SubmitToolOutputsInput, RunState>(nameof(AgentJobActivities.SubmitToolOutputs), (a, i) => a.SubmitToolOutputs(i)),
        Job<CancelRunInput, RunState>(nameof(AgentJobActivities.CancelRun), (a, i) => a.CancelRun(i)),
        Job<CancelStartedRunInput, RunState?>(nameof(AgentJobActivities.CancelStartedRun), (a, i) => a.CancelStartedRun(i)),
        Job<CloseToolCallsInput, int>(nameof(AgentJobActivities.CloseToolCalls), (a, i) => a.CloseToolCalls(i)),
        Job<string, IReadOnlyList<JobMessage>>(nameof(AgentJobActivities.ListMessages), (a, i) => a.ListMessages(i)),
        Job<ListRunStepsInput, IReadOnlyList<JobRunStep>>(nameof(AgentJobActivities.ListRunSteps), (a, i) => a.ListRunSteps(i)),
        Job<AgentRef, bool>(nameof(AgentJobActivities.DeleteAgent), (a, i) => a.DeleteAgent(i)),
        Job<string, bool>(nameof(AgentJobActivities.DeleteThread), (a, i) => a.DeleteThread(i)),
        Activity<ToolCallRequest, ToolOutput>(nameof(AgentJobActivities.ExecuteTool), services =>
        {
            // Tools watch the job through the client when the host has one (a worker without a client still runs them).
            var activities = services.GetRequiredService<AgentJobActivities>();
            var client = services.GetService<DurableTaskClient>();
            return call => activities.ExecuteWatchedTool(call, client);
        }),
        Job<RequestApprovalsInput, int>(nameof(AgentJobActivities.RequestApprovals), (a, i) => a.RequestApprovals(i)),

        // The mailbox activities resolve their services when they run, as they always have.
        Activity<string, MailboxContents>(AgentSessionOrchestrator.ReadMailboxActivity, services => sessionId =>
            services.GetRequiredService<SessionMailbox>().ReadAsync(services.GetRequiredService<DurableTaskClient>(), sessionId)),
        Activity<string, MailboxContents>(AgentSessionOrchestrator.CloseMailboxActivity, services => sessionId =>
            services.GetRequiredService<SessionMailbox>().CloseAsync(services.GetRequiredService<DurableTaskClient>(), sessionId)),
        Activity<string, bool>(AgentSessionOrchestrator.RemoveRequestActivity, services => requestId =>
            services.GetRequiredService<SessionMailbox>().RemoveAsync(services.GetRequiredService<DurableTaskClient>(), requestId)),

        Activity<DateTimeOffset, RetentionRun>(RetentionScheduleOrchestrator.ActivityName, services =>
        {
            var activities = services.GetRequiredService<RetentionActivities>();
            var client = services.GetRequiredService<DurableTaskClient>();
            return now => activities.PurgeExpired(client, now);
        }),
    ];

    /// <summary>Every orchestrator name.</summary>
    public static IReadOnlyList<string> OrchestratorNames { get; } = [.. All.Where(t => t.Kind == AgentJobTaskKind.Orchestrator).Select(t => t.Name)];

    /// <summary>Every activity name: the job's, the sessions' and retention's.</summary>
    public static IReadOnlyList<string> ActivityNames { get; } = [.. All.Where(t => t.Kind == AgentJobTaskKind.Activity).Select(t => t.Name)];

    /// <summary>Adds every orchestrator and activity of <see cref="All"/>; activities resolve their services (<see cref="AgentJobActivities"/> …) from DI.</summary>
    public static DurableTaskRegistry AddAgentJobTasks(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        foreach (var task in All)
        {
            task.Register(registry);
        }

        return registry;
    }

    static AgentJobTask Orchestrator<TOrchestrator>(string name)
        where TOrchestrator : class, ITaskOrchestrator
    {
        // The types the orchestrator declares (TaskOrchestrator<TInput, TOutput>), so the registry cannot disagree with it.
        var declared = typeof(TOrchestrator).BaseType!;
        while (!declared.IsGenericType || declared.GetGenericTypeDefinition() != typeof(TaskOrchestrator<,>))
        {
            declared = declared.BaseType!;
        }

        var types = declared.GetGenericArguments();
        return new(name, AgentJobTaskKind.Orchestrator, types[0], types[1], registry => registry.AddOrchestrator<TOrchestrator>(name));
    }

    static AgentJobTask Job<TInput, TOutput>(string name, Func<AgentJobActivities, TInput, Task<TOutput>> run) =>
        Activity<TInput, TOutput>(name, services =>
        {
            var activities = services.GetRequiredService<AgentJobActivities>();
            return input => run(activities, input);
        });

    /// <summary>An activity whose <paramref name="bind"/> turns the activity's services into the function it runs.</summary>
    static AgentJobTask Activity<TInput, TOutput>(string name, Func<IServiceProvider, Func<TInput, Task<TOutput>>> bind) =>
        new(name, AgentJobTaskKind.Activity, typeof(TInput), typeof(TOutput),
            registry => registry.AddActivity(name, services => new BoundActivity<TInput, TOutput>(bind(services))));

    sealed class BoundActivity<TInput, TOutput>(Func<TInput, Task<TOutput>> run) : TaskActivity<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskActivityContext context, TInput input) => run(input);
    }
}

/// <summary>Whether a <see cref="AgentJobTask"/> is an orchestrator or an activity.</summary>
public enum AgentJobTaskKind
{
    /// <summary>An orchestrator (an <c>[OrchestrationTrigger]</c> in the Functions app).</summary>
    Orchestrator,

    /// <summary>An activity (an <c>[ActivityTrigger]</c> in the Functions app).</summary>
    Activity,
}

/// <summary>One orchestrator or activity of the workflow.</summary>
/// <param name="Name">Its durable name (never to change: in-flight instances refer to it).</param>
/// <param name="Kind">Orchestrator or activity.</param>
/// <param name="Input">The input type it takes.</param>
/// <param name="Output">The output type it returns.</param>
/// <param name="Register">Adds it to a portable worker's registry.</param>
public sealed record AgentJobTask(string Name, AgentJobTaskKind Kind, Type Input, Type Output, Action<DurableTaskRegistry> Register);
