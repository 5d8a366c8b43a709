using LocalAgentService.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using static LocalAgentService.Protocols.ProtocolRoutes;

namespace LocalAgentService.Protocols.Classic;

/// <summary>
/// The classic threads/runs protocol. One handler set, mapped under each route shape
/// (<c>/v1</c>, <c>/openai</c>, <c>/api/projects/{project}</c>).
/// </summary>
internal static class ClassicRoutes
{
    public static void Map(RouteGroupBuilder g)
    {
        Op(g.MapPost("/assistants", CreateAssistant), "create-assistant");
        Op(g.MapGet("/assistants", ListAssistants), "list-assistants");
        Op(g.MapGet("/assistants/{assistantId}", (AgentStore s, string assistantId) =>
            ProtocolJson.Ok(s.GetAssistant(assistantId, ClassicMapper.Assistant))), "get-assistant");
        Op(g.MapPost("/assistants/{assistantId}", ModifyAssistant), "modify-assistant");
        Op(g.MapDelete("/assistants/{assistantId}", (AgentStore s, string assistantId) =>
            ProtocolJson.Ok(new DeletedDto(assistantId, "assistant.deleted", s.DeleteAssistant(assistantId)))), "delete-assistant");

        Op(g.MapPost("/threads", CreateThread), "create-thread");
        Op(g.MapPost("/threads/runs", CreateThreadAndRun), "create-thread-and-run");
        Op(g.MapGet("/threads/{threadId}", (AgentStore s, string threadId) =>
            ProtocolJson.Ok(s.GetThread(threadId, ClassicMapper.Thread))), "get-thread");
        Op(g.MapPost("/threads/{threadId}", ModifyThread), "modify-thread");
        Op(g.MapDelete("/threads/{threadId}", (AgentStore s, string threadId) =>
        {
            s.DeleteThread(threadId);
            return ProtocolJson.Ok(new DeletedDto(threadId, "thread.deleted", true));
        }), "delete-thread");

        Op(g.MapPost("/threads/{threadId}/messages", CreateMessage), "create-message");
        Op(g.MapGet("/threads/{threadId}/messages", (AgentStore s, HttpRequest req, string threadId) =>
        {
            string? runId = req.Query["run_id"];
            var page = s.ListMessages(threadId, string.IsNullOrEmpty(runId) ? null : runId, ClassicRequests.Page(req), ClassicMapper.Message);
            return ProtocolJson.Ok(ClassicMapper.List(page, m => m.Id));
        }), "list-messages");
        Op(g.MapGet("/threads/{threadId}/messages/{messageId}", (AgentStore s, string threadId, string messageId) =>
            ProtocolJson.Ok(s.GetMessage(threadId, messageId, ClassicMapper.Message))), "get-message");

        Op(g.MapPost("/threads/{threadId}/runs", CreateRun), "create-run");
        Op(g.MapGet("/threads/{threadId}/runs", (AgentStore s, HttpRequest req, string threadId) =>
            ProtocolJson.Ok(ClassicMapper.List(s.ListRuns(threadId, ClassicRequests.Page(req), ClassicMapper.Run), r => r.Id))), "list-runs");
        Op(g.MapGet("/threads/{threadId}/runs/{runId}", (AgentStore s, HttpResponse res, string threadId, string runId) =>
            PollHinted(res, s.GetRun(threadId, runId, r => RunWithHint(s, r)))), "get-run");
        Op(g.MapPost("/threads/{threadId}/runs/{runId}", ModifyRun), "modify-run");
        Op(g.MapPost("/threads/{threadId}/runs/{runId}/cancel", (AgentStore s, HttpResponse res, string threadId, string runId) =>
            PollHinted(res, s.CancelRun(threadId, runId, r => RunWithHint(s, r)))), "cancel-run");
        Op(g.MapPost("/threads/{threadId}/runs/{runId}/submit_tool_outputs", SubmitToolOutputs), "submit-tool-outputs");
        Op(g.MapGet("/threads/{threadId}/runs/{runId}/steps", (AgentStore s, HttpRequest req, string threadId, string runId) =>
            ProtocolJson.Ok(ClassicMapper.List(s.ListRunSteps(threadId, runId, ClassicRequests.Page(req), ClassicMapper.Step), x => x.Id))), "list-run-steps");
        Op(g.MapGet("/threads/{threadId}/runs/{runId}/steps/{stepId}", (AgentStore s, string threadId, string runId, string stepId) =>
            ProtocolJson.Ok(s.GetRunStep(threadId, runId, stepId, ClassicMapper.Step))), "get-run-step");
    }

    private static async Task<IResult> CreateAssistant(AgentStore s, HttpRequest req)
    {
        var body = await RequestBody.ReadAsync(req);
        body.RequiredString("model");
        return ProtocolJson.Ok(s.CreateAssistant(ClassicRequests.Assistant(body), ClassicMapper.Assistant));
    }

    private static IResult ListAssistants(AgentStore s, HttpRequest req) =>
        ProtocolJson.Ok(ClassicMapper.List(s.ListAssistants(ClassicRequests.Page(req), ClassicMapper.Assistant), a => a.Id));

    private static async Task<IResult> ModifyAssistant(AgentStore s, HttpRequest req, string assistantId)
    {
        var spec = ClassicRequests.Assistant(await RequestBody.ReadAsync(req));
        return ProtocolJson.Ok(s.ModifyAssistant(assistantId, spec, ClassicMapper.Assistant));
    }

    private static async Task<IResult> CreateThread(AgentStore s, HttpRequest req)
    {
        var body = await RequestBody.ReadAsync(req);
        var messages = ClassicRequests.Messages(body, "messages");
        return ProtocolJson.Ok(s.CreateThread(ClassicRequests.Metadata(body), body.Object("tool_resources"), messages, ClassicMapper.Thread));
    }

    private static async Task<IResult> ModifyThread(AgentStore s, HttpRequest req, string threadId)
    {
        var body = await RequestBody.ReadAsync(req);
        return ProtocolJson.Ok(s.ModifyThread(threadId, ClassicRequests.Metadata(body), body.Object("tool_resources"), ClassicMapper.Thread));
    }

    private static async Task<IResult> CreateMessage(AgentStore s, HttpRequest req, string threadId)
    {
        var body = await RequestBody.ReadAsync(req);
        return ProtocolJson.Ok(s.AddMessage(threadId, ClassicRequests.Message(body.Root), ClassicMapper.Message));
    }

    /// <summary>With <c>stream:true</c> the answer is the run's event stream, else the queued run.</summary>
    private static async Task<IResult> CreateRun(AgentStore s, HttpContext ctx, string threadId)
    {
        var body = await RequestBody.ReadAsync(ctx.Request);
        var spec = ClassicRequests.Run(body, PlantedFault(ctx));
        if (ClassicRunStream.For(body, s.Simulation) is { } stream)
        {
            spec.Observer = stream;
            s.CreateRun(threadId, spec, r => r.Id);
            return stream;
        }

        return PollHinted(ctx.Response, s.CreateRun(threadId, spec, r => RunWithHint(s, r)));
    }

    private static async Task<IResult> CreateThreadAndRun(AgentStore s, HttpContext ctx)
    {
        var body = await RequestBody.ReadAsync(ctx.Request);
        var spec = ClassicRequests.Run(body, PlantedFault(ctx));
        var thread = body.Object("thread") is { } t ? new RequestBody(t) : RequestBody.Empty;
        var messages = ClassicRequests.Messages(thread, "messages");
        if (ClassicRunStream.For(body, s.Simulation, announceThread: true) is { } stream)
        {
            spec.Observer = stream;
            s.CreateThreadAndRun(spec, ClassicRequests.Metadata(thread), thread.Object("tool_resources"), messages, r => r.Id);
            return stream;
        }

        var result = s.CreateThreadAndRun(spec, ClassicRequests.Metadata(thread), thread.Object("tool_resources"), messages, r => RunWithHint(s, r));
        return PollHinted(ctx.Response, result);
    }

    private static async Task<IResult> ModifyRun(AgentStore s, HttpResponse res, HttpRequest req, string threadId, string runId)
    {
        var metadata = ClassicRequests.Metadata(await RequestBody.ReadAsync(req));
        return PollHinted(res, s.ModifyRun(threadId, runId, metadata, r => RunWithHint(s, r)));
    }

    private static async Task<IResult> SubmitToolOutputs(AgentStore s, HttpContext ctx, string threadId, string runId)
    {
        var body = await RequestBody.ReadAsync(ctx.Request);
        if (body.Get("tool_outputs") is null)
        {
            throw RequestBody.Missing("tool_outputs");
        }

        var outputs = body.Array("tool_outputs").Select((o, i) =>
        {
            var item = o.ValueKind == System.Text.Json.JsonValueKind.Object ? new RequestBody(o) : throw RequestBody.WrongType($"tool_outputs[{i}]", "an object", o);
            return (CallId: item.String("tool_call_id") ?? throw RequestBody.Missing($"tool_outputs[{i}].tool_call_id"),
                    Output: item.String("output") ?? "");
        }).ToList();
        if (ClassicRunStream.For(body, s.Simulation) is { } stream)
        {
            s.SubmitToolOutputs(threadId, runId, outputs, r => r.Id, stream);
            return stream;
        }

        return PollHinted(ctx.Response, s.SubmitToolOutputs(threadId, runId, outputs, r => RunWithHint(s, r)));
    }

    private static (RunDto Run, int HintMs) RunWithHint(AgentStore s, RunRecord r) => (ClassicMapper.Run(r), s.PollHintMs(r));
}
