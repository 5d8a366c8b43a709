using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.Extensions.DependencyInjection;

namespace AgentFunctions.Tests.Support;

/// <summary>
/// Registers the Functions app's own orchestrator and activity wrappers (not the portable registrations) with a
/// portable Durable Task worker, so the in-memory backend runs exactly the code the Functions host would call.
/// Activity classes are created per call with DI, as the Functions worker does.
/// </summary>
static class FunctionsDurableTasks
{
    public static DurableTaskRegistry AddFunctionsAppTasks(this DurableTaskRegistry registry)
    {
        foreach (var function in FunctionCatalog.With<OrchestrationTriggerAttribute>())
        {
            // The wrapper reads its input with context.GetInput<T>(); on the portable worker that returns the input
            // the orchestrator class deserialized, so type it like the portable orchestrator of the same name.
            var types = PortableOrchestratorTypes(function.Name);
            var adapter = typeof(MethodOrchestrator<,>).MakeGenericType(types);
            var method = function.Method;
            registry.AddOrchestrator(function.Name, () => (ITaskOrchestrator)Activator.CreateInstance(adapter, method)!);
        }

        foreach (var function in FunctionCatalog.With<ActivityTriggerAttribute>())
        {
            var method = function.Method;
            var input = function.Trigger.ParameterType;
            var output = method.ReturnType.GetGenericArguments()[0];
            var adapter = typeof(MethodActivity<,>).MakeGenericType(input, output);
            registry.AddActivity(function.Name, services =>
            {
                var target = method.IsStatic ? null : ActivatorUtilities.CreateInstance(services, method.DeclaringType!);
                return (ITaskActivity)Activator.CreateInstance(adapter, target, method, services)!;
            });
        }

        return registry;
    }

    /// <summary>Invokes a method returning Task or Task&lt;T&gt; and returns its result (null for Task).</summary>
    public static async Task<object?> InvokeAsync(MethodInfo method, object? target, object?[] arguments)
    {
        ArgumentNullException.ThrowIfNull(method);
        object? returned;
        try
        {
            returned = method.Invoke(target, arguments);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw ex.InnerException;
        }

        if (returned is not Task task)
        {
            return returned;
        }

        await task;
        return task.GetType().IsGenericType ? task.GetType().GetProperty(nameof(Task<object>.Result))!.GetValue(task) : null;
    }

    /// <summary>TInput and TOutput of the portable TaskOrchestrator whose Name constant is <paramref name="name"/>.</summary>
    static Type[] PortableOrchestratorTypes(string name)
    {
        foreach (var type in typeof(AgentJobs.Workflow.AgentJobTasks).Assembly.GetTypes())
        {
            var constant = type.GetField("Name", BindingFlags.Public | BindingFlags.Static);
            for (var b = type.BaseType; b is not null && constant?.GetRawConstantValue() as string == name; b = b.BaseType)
            {
                if (b.IsGenericType && b.GetGenericTypeDefinition() == typeof(TaskOrchestrator<,>))
                {
                    return b.GetGenericArguments();
                }
            }
        }

        throw new InvalidOperationException($"No portable orchestrator is named '{name}'.");
    }

    sealed class MethodOrchestrator<TInput, TOutput>(MethodInfo method) : TaskOrchestrator<TInput, TOutput>
    {
        public override async Task<TOutput> RunAsync(TaskOrchestrationContext context, TInput input) =>
            (TOutput)(await InvokeAsync(method, null, [context]))!;
    }

    // The activity trigger parameter gets the input, a [DurableClient] parameter the client; the wrappers take nothing else.
    sealed class MethodActivity<TInput, TOutput>(object? target, MethodInfo method, IServiceProvider services) : TaskActivity<TInput, TOutput>
    {
        public override async Task<TOutput> RunAsync(TaskActivityContext context, TInput input) =>
            (TOutput)(await InvokeAsync(method, target, [.. method.GetParameters().Select<ParameterInfo, object?>(p =>
                p.GetCustomAttribute<ActivityTriggerAttribute>() is not null ? input
                : p.GetCustomAttribute<DurableClientAttribute>() is not null ? services.GetRequiredService<Microsoft.DurableTask.Client.DurableTaskClient>()
                : throw new InvalidOperationException($"No binding for {method.Name}'s parameter {p.Name}."))]))!;
    }
}
