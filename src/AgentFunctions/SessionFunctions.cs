using AgentJobs.Http;
using AgentJobs.Sessions;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;

namespace AgentFunctions;

/// <summary>The agent sessions API: thin HTTP triggers over the shared handlers (<see cref="AgentSessionsApi"/>), as <c>serve</c> maps them.</summary>
public sealed class SessionFunctions(AgentSessionsApi api, AgentJobListApi list, SessionMailbox mailbox)
{
    /// <summary>Function name of GET /api/agent-sessions.</summary>
    public const string ListName = "ListAgentSessions";

    /// <summary>Function name of POST /api/agent-sessions.</summary>
    public const string StartName = "StartAgentSession";

    /// <summary>Function name of GET /api/agent-sessions/{id}.</summary>
    public const string GetName = "GetAgentSession";

    /// <summary>Function name of DELETE /api/agent-sessions/{id}.</summary>
    public const string EndName = "EndAgentSession";

    /// <summary>Function name of POST /api/agent-sessions/{id}/turns.</summary>
    public const string SendTurnName = "SendAgentSessionTurn";

    /// <summary>Function name of GET /api/agent-sessions/{id}/turns.</summary>
    public const string ListTurnsName = "ListAgentSessionTurns";

    /// <summary>Function name of GET /api/agent-sessions/{id}/turns/{turn}.</summary>
    public const string GetTurnName = "GetAgentSessionTurn";

    /// <summary>Function name of POST /api/agent-sessions/{id}/cancel-turn.</summary>
    public const string CancelTurnName = "CancelAgentSessionTurn";

    /// <summary>Function name of POST /api/agent-sessions/{id}/approvals.</summary>
    public const string DecideName = "DecideAgentSessionToolCall";

    /// <summary>Starts a session: 201 + Location; 400 naming the field.</summary>
    [Function(StartName)]
    public Task<IResult> Start(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = AgentJobsRoutes.Sessions)] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        api.StartAsync(request, client, Aborted(request));

    /// <summary>A page of sessions, newest first (filters as the job list): 200; 400 naming the field.</summary>
    [Function(ListName)]
    public Task<IResult> List(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = AgentJobsRoutes.Sessions)] HttpRequest request,
        [DurableClient] DurableTaskClient client) =>
        list.ListSessionsAsync(request, client, Aborted(request));

    /// <summary>The session's status and turns: 200; 404.</summary>
    [Function(GetName)]
    public Task<IResult> Get(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = AgentJobsRoutes.Session)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        api.GetAsync(request, id, client, Aborted(request));

    /// <summary>Ends the session: 202; 404; 409 ended.</summary>
    [Function(EndName)]
    public Task<IResult> End(
        [HttpTrigger(AuthorizationLevel.Function, "delete", Route = AgentJobsRoutes.Session)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        api.EndAsync(request, id, client, Aborted(request));

    /// <summary>Sends a turn: 202 (queued or not); 400; 404; 409 ended.</summary>
    [Function(SendTurnName)]
    public Task<IResult> SendTurn(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = AgentJobsRoutes.SessionTurns)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        api.SendTurnAsync(request, id, client, Aborted(request));

    /// <summary>The session's turns, a page at a time: 200; 400 naming the parameter; 404.</summary>
    [Function(ListTurnsName)]
    public Task<IResult> ListTurns(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = AgentJobsRoutes.SessionTurns)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        api.ListTurnsAsync(request, id, client, Aborted(request));

    /// <summary>One turn by number or turn id: 200; 404.</summary>
    [Function(GetTurnName)]
    public Task<IResult> GetTurn(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = AgentJobsRoutes.SessionTurn)] HttpRequest request,
        string id,
        string turn,
        [DurableClient] DurableTaskClient client) =>
        api.GetTurnAsync(request, id, turn, client, Aborted(request));

    /// <summary>Cancels the running turn: 202; 404; 409 when none runs.</summary>
    [Function(CancelTurnName)]
    public Task<IResult> CancelTurn(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = AgentJobsRoutes.SessionCancelTurn)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        api.CancelTurnAsync(request, id, client, Aborted(request));

    /// <summary>Decides a tool call of the running turn: as a job's approvals.</summary>
    [Function(DecideName)]
    public Task<IResult> Decide(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = AgentJobsRoutes.SessionApprovals)] HttpRequest request,
        string id,
        [DurableClient] DurableTaskClient client) =>
        api.DecideAsync(request, id, client, Aborted(request));

    /// <summary>Reads a session's mailbox (<see cref="SessionMailbox.ReadAsync"/>).</summary>
    [Function(AgentSessionOrchestrator.ReadMailboxActivity)]
    public Task<MailboxContents> ReadMailbox([ActivityTrigger] string sessionId, [DurableClient] DurableTaskClient client) =>
        mailbox.ReadAsync(client, sessionId);

    /// <summary>Records a session's idle end and reads its mailbox a last time (<see cref="SessionMailbox.CloseAsync"/>).</summary>
    [Function(AgentSessionOrchestrator.CloseMailboxActivity)]
    public Task<MailboxContents> CloseMailbox([ActivityTrigger] string sessionId, [DurableClient] DurableTaskClient client) =>
        mailbox.CloseAsync(client, sessionId);

    /// <summary>Removes a turn request whose turn has run (<see cref="SessionMailbox.RemoveAsync"/>).</summary>
    [Function(AgentSessionOrchestrator.RemoveRequestActivity)]
    public Task<bool> RemoveRequest([ActivityTrigger] string requestId, [DurableClient] DurableTaskClient client) =>
        mailbox.RemoveAsync(client, requestId);

    static CancellationToken Aborted(HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return request.HttpContext.RequestAborted;
    }
}
