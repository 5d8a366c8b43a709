using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace AgentJobs.Mcp;

/// <summary>
/// Agent jobs and sessions as MCP tools: <c>start_agent_job</c>, <c>get_agent_job</c>, <c>cancel_agent_job</c>, and
/// <c>start_agent_session</c>, <c>send_session_turn</c>, <c>get_agent_session</c>, <c>end_agent_session</c>, handled by
/// the HTTP API's own handlers (<see cref="AgentJobsApi"/>, <see cref="AgentSessionsApi"/>): each call becomes the
/// equivalent API request, run in-process, and the API's response becomes the tool result, so validation, limits and
/// links are the API's.
/// <list type="bullet">
/// <item>Schemas are generated from the contracts: the input of <c>start_agent_job</c> is
/// <see cref="AgentJobRequest"/>; outputs are <see cref="AgentJobLinks"/> and <see cref="AgentJobStatus"/>.</item>
/// <item>A 2xx response is the tool's structured content (and the same JSON as text); anything else is an
/// <c>isError</c> result whose text is the status, title and detail of the API's problem details.</item>
/// </list>
/// </summary>
public static class AgentJobsMcpTools
{
    /// <summary>Starts a job (POST /api/agent-jobs).</summary>
    public const string StartName = "start_agent_job";

    /// <summary>Reads a job (GET /api/agent-jobs/{id}).</summary>
    public const string GetName = "get_agent_job";

    /// <summary>Cancels a job (POST /api/agent-jobs/{id}/cancel).</summary>
    public const string CancelName = "cancel_agent_job";

    /// <summary>Starts a session (POST /api/agent-sessions).</summary>
    public const string StartSessionName = "start_agent_session";

    /// <summary>Sends a turn to a session (POST /api/agent-sessions/{id}/turns).</summary>
    public const string SendTurnName = "send_session_turn";

    /// <summary>Reads a session and its turns (GET /api/agent-sessions/{id}).</summary>
    public const string GetSessionName = "get_agent_session";

    /// <summary>Ends a session (DELETE /api/agent-sessions/{id}).</summary>
    public const string EndSessionName = "end_agent_session";

    /// <summary>
    /// <see cref="HttpContext.Items"/> key under which a host puts the <see cref="DurableTaskClient"/> for the
    /// request (the Functions app, whose client comes from the [DurableClient] binding); without it the client is
    /// taken from DI.
    /// </summary>
    public const string DurableClientItem = "AgentJobs.Mcp.DurableTaskClient";

    static readonly JsonSerializerOptions SchemaOptions = new(AgentJobRequestValidator.JsonOptions) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    /// <summary>The tools.</summary>
    public static IReadOnlyList<McpServerTool> Create() =>
    [
        new ApiTool(
            Tool(StartName, "Start an agent job: a fresh agent answers the prompt (optionally with tools), durably, and is deleted afterwards. " +
                "Returns the job id; follow it with get_agent_job.", typeof(AgentJobRequest), typeof(AgentJobLinks), readOnly: false, idempotent: false),
            (services, request, client, arguments, ct) =>
            {
                SetJsonBody(request, JsonSerializer.SerializeToUtf8Bytes(arguments));
                return Jobs(services).StartAsync(request, client, ct);
            }),
        new ApiTool(
            Tool(GetName, "Read an agent job: runtime status, live progress and, once finished, the result (reply, outcome, tool calls, cleanup).",
                typeof(GetAgentJobArguments), typeof(AgentJobStatus), readOnly: true, idempotent: true),
            (services, request, client, arguments, ct) => Jobs(services).GetAsync(request, RequiredId(arguments), client, ct)),
        new ApiTool(
            Tool(CancelName, "Cancel a running agent job gracefully: its run is cancelled and its agent still deleted.",
                typeof(CancelAgentJobArguments), typeof(AgentJobLinks), readOnly: false, idempotent: true),
            (services, request, client, arguments, ct) =>
            {
                var id = RequiredId(arguments);
                SetReason(request, arguments);
                return Jobs(services).CancelAsync(request, id, client, ct);
            }),
        new ApiTool(
            Tool(StartSessionName, "Start an agent session: one agent and one thread kept for a conversation, driven with send_session_turn and " +
                "ended with end_agent_session (or its idle timeout), which deletes the agent.", typeof(Sessions.AgentSessionRequest), typeof(SessionStarted),
                readOnly: false, idempotent: false),
            (services, request, client, arguments, ct) =>
            {
                SetJsonBody(request, JsonSerializer.SerializeToUtf8Bytes(arguments));
                return Sessions(services).StartAsync(request, client, ct);
            }),
        new ApiTool(
            Tool(SendTurnName, "Send a message to an agent session: it runs as the session's next turn (after any turn already running). " +
                "Read the reply with get_agent_session.", typeof(SendSessionTurnArguments), typeof(TurnAccepted), readOnly: false, idempotent: false),
            (services, request, client, arguments, ct) =>
            {
                var id = RequiredId(arguments);
                SetJsonBody(request, JsonSerializer.SerializeToUtf8Bytes(arguments.Where(a => a.Key != "id").ToDictionary()));
                return Sessions(services).SendTurnAsync(request, id, client, ct);
            }),
        new ApiTool(
            Tool(GetSessionName, "Read an agent session: its status, agent, thread and turns (prompt, outcome, reply, usage).",
                typeof(GetAgentSessionArguments), typeof(AgentSessionStatus), readOnly: true, idempotent: true),
            (services, request, client, arguments, ct) => Sessions(services).GetAsync(request, RequiredId(arguments), client, ct)),
        new ApiTool(
            Tool(EndSessionName, "End an agent session: its running turn is cancelled and its agent deleted.",
                typeof(EndAgentSessionArguments), typeof(SessionLinks), readOnly: false, idempotent: false),
            (services, request, client, arguments, ct) =>
            {
                var id = RequiredId(arguments);
                SetReason(request, arguments);
                return Sessions(services).EndAsync(request, id, client, ct);
            }),
    ];

    static AgentJobsApi Jobs(IServiceProvider services) => services.GetRequiredService<AgentJobsApi>();

    static AgentSessionsApi Sessions(IServiceProvider services) => services.GetRequiredService<AgentSessionsApi>();

    static void SetReason(HttpRequest request, IReadOnlyDictionary<string, JsonElement> arguments)
    {
        if (arguments.TryGetValue("reason", out var reason) && reason.ValueKind != JsonValueKind.Null)
        {
            SetJsonBody(request, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, JsonElement> { ["reason"] = reason }));
        }
    }

    static Tool Tool(string name, string description, Type input, Type output, bool readOnly, bool idempotent) => new()
    {
        Name = name,
        Description = description,
        InputSchema = AIJsonUtilities.CreateJsonSchema(input, serializerOptions: SchemaOptions),
        OutputSchema = AIJsonUtilities.CreateJsonSchema(output, serializerOptions: AgentJobsApiSchemaOptions),
        Annotations = new ToolAnnotations { ReadOnlyHint = readOnly, IdempotentHint = idempotent, DestructiveHint = false, OpenWorldHint = true },
    };

    static readonly JsonSerializerOptions AgentJobsApiSchemaOptions = new(AgentJobsApi.JsonOptions) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() };

    static string RequiredId(IReadOnlyDictionary<string, JsonElement> arguments) =>
        arguments.TryGetValue("id", out var id) && id.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(id.GetString())
            ? id.GetString()!
            : throw new McpException("'id' is required: the id that start_agent_job or start_agent_session returned.");

    static void SetJsonBody(HttpRequest request, byte[] body)
    {
        request.ContentType = "application/json";
        request.ContentLength = body.Length;
        request.Body = new MemoryStream(body, writable: false);
    }

    delegate Task<IResult> Handler(IServiceProvider services, HttpRequest request, DurableTaskClient client, IReadOnlyDictionary<string, JsonElement> arguments, CancellationToken cancellationToken);

    sealed class ApiTool(Tool tool, Handler handler) : McpServerTool
    {
        public override Tool ProtocolTool => tool;

        public override IReadOnlyList<object> Metadata => [];

        public override async ValueTask<CallToolResult> InvokeAsync(RequestContext<CallToolRequestParams> request, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(request);
            var services = request.Services ?? throw new InvalidOperationException("The MCP request has no services.");
            var outer = services.GetRequiredService<AgentJobsMcpRequest>().HttpContext
                ?? throw new InvalidOperationException("The MCP endpoint must be served by AddAgentJobsMcpServer (stateless Streamable HTTP).");
            var client = outer.Items[DurableClientItem] as DurableTaskClient ?? services.GetRequiredService<DurableTaskClient>();
            var arguments = (IReadOnlyDictionary<string, JsonElement>?)request.Params?.Arguments?.ToDictionary() ?? new Dictionary<string, JsonElement>();

            // The equivalent API request: same scheme, host and base path, so the links in the answer point at the API.
            var inner = new DefaultHttpContext { RequestServices = outer.RequestServices };
            inner.Request.Scheme = outer.Request.Scheme;
            inner.Request.Host = outer.Request.Host;
            inner.Request.PathBase = outer.Request.PathBase;
            inner.Request.Body = Stream.Null;
            inner.Request.ContentType = "application/json"; // the tool's arguments are JSON, an empty body too (the API requires it on POST)
            var response = new MemoryStream();
            inner.Response.Body = response;

            var result = await handler(services, inner.Request, client, arguments, cancellationToken).ConfigureAwait(false);
            await result.ExecuteAsync(inner).ConfigureAwait(false);

            var json = Encoding.UTF8.GetString(response.ToArray());
            if (inner.Response.StatusCode is >= 200 and < 300)
            {
                using var document = JsonDocument.Parse(json);
                return new CallToolResult { Content = [new TextContentBlock { Text = json }], StructuredContent = document.RootElement.Clone() };
            }

            return new CallToolResult { IsError = true, Content = [new TextContentBlock { Text = DescribeProblem(inner.Response.StatusCode, json) }] };
        }

        static string DescribeProblem(int status, string json)
        {
            try
            {
                using var problem = JsonDocument.Parse(json);
                var root = problem.RootElement;
                string? Read(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                var field = Read("field");
                return $"{status} {Read("title")}: {Read("detail")}{(field is null ? "" : $" (field: {field})")}";
            }
            catch (JsonException)
            {
                return $"{status}: {json}";
            }
        }
    }
}

/// <summary>Arguments of <c>get_agent_job</c>.</summary>
/// <param name="Id">The job id <c>start_agent_job</c> returned.</param>
public sealed record GetAgentJobArguments([property: System.ComponentModel.Description("The job id start_agent_job returned.")] string Id);

/// <summary>Arguments of <c>cancel_agent_job</c>.</summary>
/// <param name="Id">The job id <c>start_agent_job</c> returned.</param>
/// <param name="Reason">Why; recorded in the job's result (at most 1000 characters).</param>
public sealed record CancelAgentJobArguments(
    [property: System.ComponentModel.Description("The job id start_agent_job returned.")] string Id,
    [property: System.ComponentModel.Description("Why; recorded in the job's result.")] string? Reason = null);

/// <summary>Arguments of <c>get_agent_session</c>.</summary>
/// <param name="Id">The session id <c>start_agent_session</c> returned.</param>
public sealed record GetAgentSessionArguments([property: System.ComponentModel.Description("The session id start_agent_session returned.")] string Id);

/// <summary>Arguments of <c>end_agent_session</c>.</summary>
/// <param name="Id">The session id <c>start_agent_session</c> returned.</param>
/// <param name="Reason">Why; recorded in the session's end (at most 1000 characters).</param>
public sealed record EndAgentSessionArguments(
    [property: System.ComponentModel.Description("The session id start_agent_session returned.")] string Id,
    [property: System.ComponentModel.Description("Why; recorded in the session's end.")] string? Reason = null);

/// <summary>Arguments of <c>send_session_turn</c>.</summary>
/// <param name="Id">The session id <c>start_agent_session</c> returned.</param>
/// <param name="Prompt">The message.</param>
/// <param name="MaxDurationSeconds">The turn's deadline (default 600).</param>
public sealed record SendSessionTurnArguments(
    [property: System.ComponentModel.Description("The session id start_agent_session returned.")] string Id,
    [property: System.ComponentModel.Description("The message.")] string Prompt,
    [property: System.ComponentModel.Description("The turn's deadline in seconds (default 600).")] int? MaxDurationSeconds = null);

/// <summary>The HTTP request an MCP call arrived with (scoped to the request; set by the Streamable HTTP transport setup).</summary>
public sealed class AgentJobsMcpRequest
{
    /// <summary>The request, once the MCP transport has started handling it.</summary>
    public HttpContext? HttpContext { get; set; }
}
