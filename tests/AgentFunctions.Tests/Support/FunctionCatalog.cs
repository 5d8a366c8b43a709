using System.Reflection;
using AgentFunctions;
using Microsoft.Azure.Functions.Worker;

namespace AgentFunctions.Tests.Support;

/// <summary>The Functions app's [Function] methods, found by reflection the way the Worker SDK's generator finds them.</summary>
static class FunctionCatalog
{
    /// <summary>Every [Function] method of the app with its name and trigger parameter.</summary>
    public static IReadOnlyList<FunctionEntry> All { get; } =
    [
        .. typeof(AgentFunctionsStartup).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Function: m.GetCustomAttribute<FunctionAttribute>()))
            .Where(x => x.Function is not null)
            .Select(x => new FunctionEntry(x.Function!.Name, x.Method, TriggerOf(x.Method))),
    ];

    /// <summary>The functions whose trigger attribute is <typeparamref name="TTrigger"/>.</summary>
    public static IReadOnlyList<FunctionEntry> With<TTrigger>()
        where TTrigger : Attribute =>
        [.. All.Where(f => f.Trigger.GetCustomAttribute<TTrigger>() is not null)];

    static ParameterInfo TriggerOf(MethodInfo method)
    {
        var triggers = method.GetParameters()
            .Where(p => p.GetCustomAttributes().Any(a => a is OrchestrationTriggerAttribute or ActivityTriggerAttribute or HttpTriggerAttribute))
            .ToList();
        return triggers.Count == 1
            ? triggers[0]
            : throw new InvalidOperationException($"{method.DeclaringType?.Name}.{method.Name} has {triggers.Count} trigger parameters.");
    }
}

/// <summary>One [Function] method.</summary>
/// <param name="Name">The function name.</param>
/// <param name="Method">The method.</param>
/// <param name="Trigger">Its trigger parameter.</param>
sealed record FunctionEntry(string Name, MethodInfo Method, ParameterInfo Trigger);
