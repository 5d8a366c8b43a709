using System.Text.Json;
using AgentJobs.AgentService;
using AgentJobs.Tools.Mcp;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tools;

/// <summary>
/// The function tools agents may call, by name. A tool is a plain C# method registered in DI with
/// <see cref="AgentToolServiceCollectionExtensions.AddAgentTool(Microsoft.Extensions.DependencyInjection.IServiceCollection, string, string, Delegate)"/>;
/// its JSON schema comes from <see cref="AIFunctionFactory"/>, never written by hand. Tools of MCP servers
/// (<see cref="McpToolSource"/>, when registered) are named <c>server/tool</c> in jobs and resolved at job start.
/// </summary>
public sealed class AgentToolRegistry
{
    readonly Dictionary<string, AIFunction> tools;
    readonly McpToolSource? mcp;

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

        mcp = services?.GetService<McpToolSource>();
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
    /// What is wrong with a tool name a job lists, or null when it is acceptable at submit time: a registered
    /// C# tool, or <c>server/tool</c> / <c>server/*</c> of a configured MCP server that its allow-list permits.
    /// </summary>
    public string? FindProblem(string name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return $"Unknown tool '{name}'. Available tools: {string.Join(", ", Names)}.";
        }

        if (McpToolNames.IsReference(name))
        {
            return (mcp ?? new McpToolSource(McpToolServers.None)).FindProblem(name);
        }

        return tools.ContainsKey(name) ? null : $"Unknown tool '{name}'. Available tools: {string.Join(", ", Names)}.";
    }

    /// <summary>
    /// The service-facing definitions of a job's tools, in order, duplicates dropped. MCP references are read
    /// from their servers now (see <see cref="McpToolSource.GetSpecsAsync"/> for the failures).
    /// </summary>
    /// <exception cref="AgentServiceException">An MCP server is unreachable or has no such tool, or a name is unknown.</exception>
    /// <exception cref="TransientAgentServiceException">An MCP server answered 408, 429 or 5xx.</exception>
    public async Task<IReadOnlyList<FunctionToolSpec>> GetSpecsAsync(IEnumerable<string> names, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(names);
        var specs = new List<FunctionToolSpec>();
        foreach (var name in names)
        {
            if (McpToolNames.IsReference(name))
            {
                specs.AddRange(await (mcp ?? new McpToolSource(McpToolServers.None)).GetSpecsAsync(name, cancellationToken).ConfigureAwait(false));
            }
            else
            {
                specs.Add(tools.ContainsKey(name) ? GetSpec(name) : throw new AgentServiceException(FindProblem(name)!));
            }
        }

        return [.. specs.DistinctBy(s => s.Name, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Runs one tool call. An unknown tool, bad arguments or a throwing tool become an error output for that
    /// call (the agent sees what went wrong), never a crashed job.
    /// </summary>
    /// <exception cref="TransientAgentServiceException">An MCP tool's server failed transiently; retry the call.</exception>
    public async Task<ToolOutput> InvokeAsync(ToolCallRequest call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        var context = new ToolCallContext(call.JobId ?? "", call.Id);
        var outer = ToolCallContext.Current;
        ToolCallContext.Current = context;
        try
        {
            return await InvokeCoreAsync(call, context, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ToolCallContext.Current = outer;
        }
    }

    async Task<ToolOutput> InvokeCoreAsync(ToolCallRequest call, ToolCallContext context, CancellationToken cancellationToken)
    {
        if (!tools.TryGetValue(call.Name, out var function))
        {
            return mcp is not null && mcp.Owns(call.Name)
                ? await mcp.InvokeAsync(call, context, cancellationToken).ConfigureAwait(false)
                : Error(call, $"unknown tool '{call.Name}'; available: {string.Join(", ", Names)}");
        }

        AIFunctionArguments arguments;
        try
        {
            var parsed = string.IsNullOrWhiteSpace(call.Arguments)
                ? []
                : JsonSerializer.Deserialize<Dictionary<string, object?>>(call.Arguments) ?? [];
            arguments = new AIFunctionArguments(parsed) { Context = new Dictionary<object, object?> { [typeof(ToolCallContext)] = context } };
        }
        catch (JsonException ex)
        {
            return Error(call, $"arguments are not a JSON object: {ex.Message}");
        }

        try
        {
            var result = await function.InvokeAsync(arguments, cancellationToken).ConfigureAwait(false);
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
