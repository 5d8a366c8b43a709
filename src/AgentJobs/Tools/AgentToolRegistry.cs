using System.Text.Json;
using AgentJobs.AgentService;
using Microsoft.Extensions.AI;

namespace AgentJobs.Tools;

/// <summary>
/// The function tools agents may call, by name. A tool is a plain C# method registered in DI with
/// <see cref="AgentToolServiceCollectionExtensions.AddAgentTool(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, string, Delegate)"/>;
/// its JSON schema comes from <see cref="AIFunctionFactory"/>, never written by hand.
/// </summary>
public sealed class AgentToolRegistry
{
    readonly Dictionary<string, AIFunction> tools;

    /// <summary>Builds the registry from the registered tools.</summary>
    public AgentToolRegistry(IEnumerable<AgentToolRegistration> registrations, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(registrations);
        tools = new Dictionary<string, AIFunction>(StringComparer.Ordinal);
        foreach (var registration in registrations)
        {
            var function = registration.Create(services);
            if (!tools.TryAdd(function.Name, function))
            {
                throw new InvalidOperationException($"Two agent tools are registered with the name '{function.Name}'.");
            }
        }
    }

    /// <summary>The registered tool names, sorted.</summary>
    public IReadOnlyList<string> Names => [.. tools.Keys.Order(StringComparer.Ordinal)];

    /// <summary>Whether a tool of that name exists.</summary>
    public bool Contains(string name) => tools.ContainsKey(name);

    /// <summary>The service-facing definition of a tool.</summary>
    public FunctionToolSpec GetSpec(string name)
    {
        var function = tools[name];
        return new FunctionToolSpec(function.Name, function.Description, function.JsonSchema.GetRawText());
    }

    /// <summary>
    /// Runs one tool call. An unknown tool, bad arguments or a throwing tool become an error output for that
    /// call (the agent sees what went wrong), never a crashed job.
    /// </summary>
    public async Task<ToolOutput> InvokeAsync(ToolCallRequest call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (!tools.TryGetValue(call.Name, out var function))
        {
            return Error(call, $"unknown tool '{call.Name}'; available: {string.Join(", ", Names)}");
        }

        AIFunctionArguments arguments;
        try
        {
            var parsed = string.IsNullOrWhiteSpace(call.Arguments)
                ? []
                : JsonSerializer.Deserialize<Dictionary<string, object?>>(call.Arguments) ?? [];
            arguments = new AIFunctionArguments(parsed);
        }
        catch (JsonException ex)
        {
            return Error(call, $"arguments are not a JSON object: {ex.Message}");
        }

        try
        {
            var result = await function.InvokeAsync(arguments, cancellationToken);
            return new ToolOutput(call.Id, result switch
            {
                null => "null",
                string s => s,
                JsonElement e => e.ValueKind == JsonValueKind.String ? e.GetString()! : e.GetRawText(),
                var other => JsonSerializer.Serialize(other),
            });
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            return Error(call, $"tool '{call.Name}' failed: {ex.Message}");
        }
    }

    static ToolOutput Error(ToolCallRequest call, string message) =>
        new(call.Id, JsonSerializer.Serialize(new { error = message }), IsError: true);
}

/// <summary>One registered tool: how to build its <see cref="AIFunction"/> from the service provider.</summary>
/// <param name="Create">Builds the function.</param>
public sealed record AgentToolRegistration(Func<IServiceProvider, AIFunction> Create);
