using System.Reflection;
using AgentFunctions.Tests.Support;
using AgentJobs.Workflow;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace AgentFunctions.Tests;

/// <summary>The app's [Function] methods, by reflection: the same names as the portable workflow, the right triggers.</summary>
public class FunctionSurfaceTests
{
    [Fact]
    public void Orchestrator_functions_are_exactly_the_workflow_orchestrators()
    {
        var names = FunctionCatalog.With<OrchestrationTriggerAttribute>().Select(f => f.Name);
        Assert.Equal(AgentJobTasks.OrchestratorNames.Order(), names.Order());
        foreach (var f in FunctionCatalog.With<OrchestrationTriggerAttribute>())
        {
            Assert.Equal(typeof(TaskOrchestrationContext), f.Trigger.ParameterType);
            Assert.Single(f.Method.GetParameters());

            // Each wrapper returns what the registry's orchestrator of the same name declares.
            var task = Assert.Single(AgentJobTasks.All, t => t.Name == f.Name);
            Assert.Equal(AgentJobTaskKind.Orchestrator, task.Kind);
            Assert.Equal(typeof(Task<>).MakeGenericType(task.Output), f.Method.ReturnType);
        }
    }

    [Fact]
    public void Activity_functions_are_exactly_the_workflow_activities_with_their_signatures()
    {
        var all = FunctionCatalog.With<ActivityTriggerAttribute>();
        Assert.Equal(AgentJobTasks.ActivityNames.Order(), all.Select(f => f.Name).Order());
        foreach (var f in all)
        {
            // Each wrapper takes and returns what the registry's activity of the same name does.
            var task = Assert.Single(AgentJobTasks.All, t => t.Name == f.Name);
            Assert.Equal(AgentJobTaskKind.Activity, task.Kind);
            Assert.Equal(task.Input, f.Trigger.ParameterType);
            Assert.Equal(typeof(Task<>).MakeGenericType(task.Output), f.Method.ReturnType);
        }

        var jobActivities = all.Where(f => typeof(AgentJobActivities).GetMethod(f.Name) is not null).ToList();
        Assert.Equal(14, jobActivities.Count);
        foreach (var f in jobActivities)
        {
            // And the AgentJobActivities method of the same name takes and returns the same.
            var target = typeof(AgentJobActivities).GetMethod(f.Name)!;
            Assert.Equal(target.GetParameters().Single().ParameterType, f.Trigger.ParameterType);
            Assert.Equal(target.ReturnType, f.Method.ReturnType);
        }
    }

    [Fact]
    public void The_registry_names_each_task_once()
    {
        Assert.Equal(AgentJobTasks.All.Count, AgentJobTasks.All.Select(t => t.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Equal(AgentJobTasks.All.Count, AgentJobTasks.OrchestratorNames.Count + AgentJobTasks.ActivityNames.Count);
    }

    [Fact]
    public void Http_functions_are_the_api_routes_and_mcp_each_requiring_a_function_key()
    {
        var http = FunctionCatalog.With<HttpTriggerAttribute>()
            .Select(f => (f.Name, Trigger: f.Trigger.GetCustomAttribute<HttpTriggerAttribute>()!, f.Method))
            .OrderBy(x => x.Name, StringComparer.Ordinal)
            .ToList();

        Assert.Equal(
            [
                (DashboardFunctions.Name, "get", "dashboard/{file?}"),
                (McpFunctions.Name, "post,get,delete", McpFunctions.Route),
                (BatchFunctions.CancelName, "post", "agent-batches/{id}/cancel"),
                (HttpFunctions.CancelName, "post", "agent-jobs/{id}/cancel"),
                (SessionFunctions.CancelTurnName, "post", "agent-sessions/{id}/cancel-turn"),
                (HttpFunctions.DecideName, "post", "agent-jobs/{id}/approvals"),
                (SessionFunctions.DecideName, "post", "agent-sessions/{id}/approvals"),
                (BatchFunctions.DeleteName, "delete", "agent-batches/{id}"),
                (RetentionFunctions.DeleteName, "delete", "agent-jobs/{id}"),
                (SessionFunctions.EndName, "delete", "agent-sessions/{id}"),
                (BatchFunctions.GetName, "get", "agent-batches/{id}"),
                (HttpFunctions.GetName, "get", "agent-jobs/{id}"),
                (SessionFunctions.GetName, "get", "agent-sessions/{id}"),
                (SessionFunctions.GetTurnName, "get", "agent-sessions/{id}/turns/{turn}"),
                (AgentJobLiveFunctions.ListName, "get", "agent-jobs"),
                (SessionFunctions.ListTurnsName, "get", "agent-sessions/{id}/turns"),
                (SessionFunctions.ListName, "get", "agent-sessions"),
                (SessionFunctions.SendTurnName, "post", "agent-sessions/{id}/turns"),
                (BatchFunctions.StartName, "post", "agent-batches"),
                (HttpFunctions.StartName, "post", "agent-jobs"),
                (SessionFunctions.StartName, "post", "agent-sessions"),
                (AgentJobLiveFunctions.EventsName, "get", "agent-jobs/{id}/events"),
            ],
            http.Select(x => (x.Name, string.Join(",", x.Trigger.Methods!), x.Trigger.Route!)));
        Assert.All(http, x => Assert.Equal(AuthorizationLevel.Function, x.Trigger.AuthLevel));
        Assert.All(http, x => Assert.Equal(typeof(Task<IResult>), x.Method.ReturnType));
        Assert.All(http.Where(x => x.Name != DashboardFunctions.Name), x =>
        {
            var client = Assert.Single(x.Method.GetParameters(), p => p.ParameterType == typeof(DurableTaskClient));
            Assert.NotNull(client.GetCustomAttribute<DurableClientAttribute>());
        });
    }

    [Fact]
    public void The_app_has_no_other_functions()
    {
        Assert.Equal(AgentJobTasks.All.Count + 22, FunctionCatalog.All.Count);
        Assert.Equal(FunctionCatalog.All.Count, FunctionCatalog.All.Select(f => f.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
    }
}
