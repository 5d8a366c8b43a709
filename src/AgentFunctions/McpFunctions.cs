using AgentJobs.Http;
using AgentJobs.Mcp;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace AgentFunctions;

/// <summary>
/// The agent-jobs MCP server (<see cref="AgentJobsMcpTools"/>: start_agent_job, get_agent_job, cancel_agent_job)
/// at <c>/api/mcp</c>, Streamable HTTP in stateless mode, behind the same function-level key as the HTTP API
/// (<c>x-functions-key</c> header or <c>?code=</c>). The trigger hands the request to the MCP SDK's own handler
/// (<see cref="AgentJobsMcpEndpoint"/>); the ASP.NET Core integration runs the returned result on the real
/// request, so the SDK writes the response (JSON or an SSE stream) itself.
/// </summary>
public sealed class McpFunctions(AgentJobsMcpEndpoint endpoint)
{
    /// <summary>Function name of the MCP endpoint.</summary>
    public const string Name = "AgentJobsMcp";

    /// <summary>Route of the MCP endpoint, under the host's <c>api</c> prefix.</summary>
    public const string Route = AgentJobsRoutes.Mcp;

    /// <summary>
    /// One MCP request: POST carries a JSON-RPC message (initialize, tools/list, tools/call …); GET and DELETE
    /// get 405 because a stateless server has no streams or sessions to open or end.
    /// </summary>
    [Function(Name)]
    public Task<IResult> Mcp(
        [HttpTrigger(AuthorizationLevel.Function, "post", "get", "delete", Route = Route)] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        Task.FromResult(endpoint.Handle(client));
}
