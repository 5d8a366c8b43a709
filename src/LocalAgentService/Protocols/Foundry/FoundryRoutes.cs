using LocalAgentService.Protocols.Classic;
using LocalAgentService.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static LocalAgentService.Protocols.ProtocolRoutes;

namespace LocalAgentService.Protocols.Foundry;

/// <summary>
/// The current Foundry protocol: versioned agents under the project (<see cref="MapAgents"/>, <c>?api-version=v1</c>)
/// and the OpenAI-compatible Conversations/Responses (<see cref="MapOpenAI"/>, under <c>{project}/openai/v1</c> and <c>/v1</c>).
/// Same store, engine, faults and auth as the classic protocol.
/// </summary>
internal static class FoundryRoutes
{
    public static void MapAgents(RouteGroupBuilder g)
    {
        Op(g.MapPost("/agents", CreateAgent), "create-agent");
        Op(g.MapGet("/agents", (AgentStore s, HttpRequest req) =>
            ProtocolJson.Ok(FoundryMapper.List(s.ListAgents(ClassicRequests.Page(req), FoundryMapper.Agent), a => a.Name))), "list-agents");
        Op(g.MapGet("/agents/{agentName}", (AgentStore s, string agentName) =>
            ProtocolJson.Ok(FoundryMapper.Agent(s.GetAgentVersion(agentName, null)))), "get-agent");
        Op(g.MapDelete("/agents/{agentName}", (AgentStore s, string agentName) =>
        {
            s.DeleteAgent(agentName);
            return ProtocolJson.Ok(new AgentDeletedDto(agentName, true));
        }), "delete-agent");
        Op(g.MapPost("/agents/{agentName}/versions", CreateAgentVersion), "create-agent-version");
        Op(g.MapGet("/agents/{agentName}/versions", (AgentStore s, HttpRequest req, string agentName) =>
            ProtocolJson.Ok(FoundryMapper.List(s.ListAgentVersions(agentName, ClassicRequests.Page(req), FoundryMapper.Version), v => v.Version))), "list-agent-versions");
        Op(g.MapGet("/agents/{agentName}/versions/{version}", (AgentStore s, string agentName, string version) =>
            ProtocolJson.Ok(FoundryMapper.Version(s.GetAgentVersion(agentName, version)))), "get-agent-version");
        Op(g.MapDelete("/agents/{agentName}/versions/{version}", (AgentStore s, string agentName, string version) =>
        {
            s.DeleteAgentVersion(agentName, version);
            return ProtocolJson.Ok(new AgentVersionDeletedDto(agentName, version, true));
        }), "delete-agent-version");
    }

    public static void MapOpenAI(RouteGroupBuilder g)
    {
        Op(g.MapPost("/conversations", CreateConversation), "create-conversation");
        Op(g.MapGet("/conversations/{conversationId}", (AgentStore s, string conversationId) =>
            ProtocolJson.Ok(s.GetConversation(conversationId, FoundryMapper.Conversation))), "get-conversation");
        Op(g.MapPost("/conversations/{conversationId}", UpdateConversation), "update-conversation");
        Op(g.MapDelete("/conversations/{conversationId}", (AgentStore s, string conversationId) =>
        {
            s.DeleteConversation(conversationId);
            return ProtocolJson.Ok(new DeletedDto(conversationId, "conversation.deleted", true));
        }), "delete-conversation");
        Op(g.MapPost("/conversations/{conversationId}/items", CreateConversationItems), "create-conversation-items");
        Op(g.MapGet("/conversations/{conversationId}/items", (AgentStore s, HttpRequest req, string conversationId) =>
            ProtocolJson.Ok(FoundryMapper.Items(s.ListConversationItems(conversationId, ClassicRequests.Page(req), i => i)))), "list-conversation-items");
        Op(g.MapGet("/conversations/{conversationId}/items/{itemId}", (AgentStore s, string conversationId, string itemId) =>
            ProtocolJson.Ok(s.GetConversationItem(conversationId, itemId, FoundryMapper.Item))), "get-conversation-item");

        Op(g.MapPost("/responses", CreateResponse), "create-response");
        Op(g.MapGet("/responses", (AgentStore s, HttpRequest req) =>
            ProtocolJson.Ok(FoundryMapper.Responses(s.ListResponses(
                req.Query["conversation_id"].FirstOrDefault(), req.Query["agent_name"].FirstOrDefault(), ClassicRequests.Page(req), FoundryMapper.Response)))), "list-responses");
        Op(g.MapGet("/responses/{responseId}", GetResponse), "get-response");
        Op(g.MapPost("/responses/{responseId}/cancel", (AgentStore s, HttpResponse res, string responseId) =>
            PollHinted(res, s.CancelResponse(responseId, r => WithHint(s, r)))), "cancel-response");
        Op(g.MapDelete("/responses/{responseId}", (AgentStore s, string responseId) =>
        {
            s.DeleteResponse(responseId);
            return ProtocolJson.Ok(new DeletedDto(responseId, "response", true));
        }), "delete-response");
        Op(g.MapGet("/responses/{responseId}/input_items", (AgentStore s, HttpRequest req, string responseId) =>
            ProtocolJson.Ok(FoundryMapper.Items(s.ListResponseInputItems(responseId, ClassicRequests.Page(req), i => i)))), "list-input-items");
    }

    private static async Task<IResult> CreateAgentVersion(AgentStore s, HttpRequest req, string agentName)
    {
        FoundryRequests.AgentName(agentName);
        var body = FoundryRequests.AgentVersion(await RequestBody.ReadAsync(req));
        var version = s.CreateAgentVersion(agentName, body.Model, body.Instructions, body.Tools, body.Definition, body.Description, body.Metadata);
        return ProtocolJson.Ok(FoundryMapper.Version(version));
    }

    private static async Task<IResult> CreateAgent(AgentStore s, HttpRequest req)
    {
        var raw = await RequestBody.ReadAsync(req);
        string name = FoundryRequests.AgentName(raw.String("name"), "name");
        var body = FoundryRequests.AgentVersion(raw);
        var version = s.CreateAgentVersion(name, body.Model, body.Instructions, body.Tools, body.Definition, body.Description, body.Metadata);
        return ProtocolJson.Ok(FoundryMapper.Agent(version));
    }

    private static async Task<IResult> CreateConversation(AgentStore s, HttpRequest req)
    {
        var body = await RequestBody.ReadAsync(req);
        var items = FoundryRequests.Items(body, "items");
        return ProtocolJson.Ok(s.CreateConversation(ClassicRequests.Metadata(body), items, FoundryMapper.Conversation));
    }

    private static async Task<IResult> UpdateConversation(AgentStore s, HttpRequest req, string conversationId)
    {
        var body = await RequestBody.ReadAsync(req);
        return ProtocolJson.Ok(s.UpdateConversation(conversationId, ClassicRequests.Metadata(body), FoundryMapper.Conversation));
    }

    private static async Task<IResult> CreateConversationItems(AgentStore s, HttpRequest req, string conversationId)
    {
        var body = await RequestBody.ReadAsync(req);
        if (body.Get("items") is null)
        {
            throw RequestBody.Missing("items");
        }

        var added = s.AddConversationItems(conversationId, FoundryRequests.Items(body, "items"), i => i);
        return ProtocolJson.Ok(FoundryMapper.Items(new Page<ItemRecord>(added, false)));
    }

    /// <summary>
    /// Streaming: the response's event log, live. Background: answers at once (queued). Otherwise waits for the engine to
    /// finish the response.
    /// </summary>
    private static async Task<IResult> CreateResponse(AgentStore s, HttpContext ctx)
    {
        var body = await RequestBody.ReadAsync(ctx.Request);
        var spec = FoundryRequests.Response(body, PlantedFault(ctx));
        var log = body.Boolean("stream") == true ? new ResponseEventLog(s.Simulation) : null;
        spec.Observer = log;
        var run = s.CreateResponse(spec);
        if (log is not null)
        {
            return new ResponseStream(log, -1, spec.Background ? null : () => s.ForgetUnstored(run));
        }

        if (spec.Background)
        {
            return PollHinted(ctx.Response, AgentStore.ReadResponse(run, r => WithHint(s, r)));
        }

        try
        {
            await run.Finished.Task.WaitAsync(ctx.RequestAborted);
            return PollHinted(ctx.Response, AgentStore.ReadResponse(run, r => WithHint(s, r)));
        }
        finally
        {
            // Also when the client gave up waiting: an unstored response must not stay behind.
            s.ForgetUnstored(run);
        }
    }

    /// <summary>With <c>stream=true</c> (and optional <c>starting_after</c>): the response's events after that number, then live.</summary>
    private static IResult GetResponse(AgentStore s, HttpContext ctx, string responseId)
    {
        var query = ctx.Request.Query;
        if (!string.Equals(query["stream"], "true", StringComparison.OrdinalIgnoreCase))
        {
            return PollHinted(ctx.Response, s.GetResponse(responseId, r => WithHint(s, r)));
        }

        int after = -1;
        if (query.TryGetValue("starting_after", out var value)
            && !(int.TryParse(value, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out after)))
        {
            throw ServiceException.Invalid($"Invalid 'starting_after': expected a non-negative integer, got '{value}'.", "starting_after", "invalid_value");
        }

        var log = s.GetResponse(responseId, ResponseEventLog.Of)
            ?? throw ServiceException.Invalid($"Response {responseId} was not created with stream=true, so it has no event stream; poll it instead.", "stream");
        return new ResponseStream(log, after, null);
    }

    /// <summary>Writes a response's events; <paramref name="whenDone"/> runs after the stream ends however it ends.</summary>
    private sealed class ResponseStream(ResponseEventLog log, int after, Action? whenDone) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            try
            {
                await EventStream.WriteAsync(httpContext, ct => log.ReadAsync(after, ct));
            }
            finally
            {
                whenDone?.Invoke();
            }
        }
    }

    private static (ResponseDto Response, int HintMs) WithHint(AgentStore s, RunRecord r) => (FoundryMapper.Response(r), s.PollHintMs(r));
}
