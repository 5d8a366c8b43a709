using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AgentJobs.Tools;

/// <summary>Registers function tools in DI.</summary>
public static class AgentToolServiceCollectionExtensions
{
    /// <summary>
    /// Registers a plain C# method as a tool. Parameter names, types and <c>[Description]</c> attributes become
    /// the tool's JSON schema. A parameter of type <see cref="ToolCallContext"/> receives the call's job id, call id
    /// and idempotency key and is left out of the schema.
    /// </summary>
    public static IServiceCollection AddAgentTool(this IServiceCollection services, string name, string description, Delegate method)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(method);
        return services.AddAgentTool(_ => AIFunctionFactory.Create(method, CreateOptions(name, description)));
    }

    /// <summary>
    /// <see cref="AIFunctionFactory"/> options for an agent tool: the name, the description, and the binding of
    /// <see cref="ToolCallContext"/> parameters (from the call, excluded from the JSON schema).
    /// </summary>
    public static AIFunctionFactoryOptions CreateOptions(string name, string description) => new()
    {
        Name = name,
        Description = description,
        ConfigureParameterBinding = parameter => parameter.ParameterType == typeof(ToolCallContext)
            ? new AIFunctionFactoryOptions.ParameterBindingOptions
            {
                ExcludeFromSchema = true,
                BindParameter = (_, arguments) =>
                    arguments.Context is { } context && context.TryGetValue(typeof(ToolCallContext), out var call) ? call : ToolCallContext.Current,
            }
            : default,
    };

    /// <summary>Registers a tool built from the service provider (for tools that need other services).</summary>
    public static IServiceCollection AddAgentTool(this IServiceCollection services, Func<IServiceProvider, AIFunction> factory)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(new AgentToolRegistration(factory));
        services.TryAddSingleton<AgentToolRegistry>();
        return services;
    }

    /// <summary>Registers the tools that ship with AgentFunctions: <c>get_utc_now</c> and <c>calculate</c>.</summary>
    public static IServiceCollection AddBuiltInAgentTools(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (services.Any(d => d.ServiceType == typeof(BuiltInToolsMarker)))
        {
            return services; // already added: a second registration would make duplicate tool names
        }

        services.AddSingleton<BuiltInToolsMarker>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddAgentTool(sp =>
        {
            var time = sp.GetRequiredService<TimeProvider>();
            return AIFunctionFactory.Create(() => BuiltInTools.GetUtcNow(time), BuiltInTools.UtcNowName, BuiltInTools.UtcNowDescription);
        });
        services.AddAgentTool(BuiltInTools.CalculateName, BuiltInTools.CalculateDescription, BuiltInTools.Calculate);
        return services;
    }

    sealed class BuiltInToolsMarker;
}
