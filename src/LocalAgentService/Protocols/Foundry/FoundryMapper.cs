using System.Text.Json;
using LocalAgentService.Protocols.Classic;
using LocalAgentService.Storage;

namespace LocalAgentService.Protocols.Foundry;

/// <summary>Store records → Foundry/Responses wire shapes. Run projections are called under the run's lock.</summary>
internal static class FoundryMapper
{
    public static AgentVersionDto Version(AgentVersionRecord v) =>
        new(v.Id, v.Name, v.Version, v.Description, v.CreatedAt, new Dictionary<string, string>(v.Metadata, StringComparer.Ordinal), v.Definition);

    public static AgentDto Agent(AgentVersionRecord latest) => new(latest.Name, latest.Name, new AgentVersionsDto(Version(latest)));

    public static ConversationDto Conversation(ThreadRecord c) => new(c.Id, c.CreatedAt, new Dictionary<string, string>(c.Metadata, StringComparer.Ordinal));

    public static object Item(ItemRecord item)
    {
        var s = item.Spec;
        var by = item.ResponseId is { } responseId
            ? new CreatedByDto(item.Agent is { } a ? new AgentIdDto(a.Name, a.Version) : null, responseId)
            : null;
        return s.Type switch
        {
            "message" => new MessageItemDto(item.Id, "completed", s.Role ?? "user", (s.Content ?? []).Select(Part).ToList(), item.CreatedAt, by),
            "function_call" => new FunctionCallItemDto(item.Id, s.CallId!, s.Name!, s.Arguments ?? "{}", "completed", item.CreatedAt, by),
            "function_call_output" => new FunctionCallOutputItemDto(item.Id, s.CallId!, s.Output ?? "", "completed", item.CreatedAt, by),
            _ => s.Raw ?? default(JsonElement),
        };
    }

    public static ListDto<object> Items(Page<ItemRecord> page) =>
        new(page.Items.Select(Item).ToList(), page.Items.Count > 0 ? page.Items[0].Id : null, page.Items.Count > 0 ? page.Items[^1].Id : null, page.HasMore);

    public static ListDto<T> List<T>(Page<T> page, Func<T, string> id) => ClassicMapper.List(page, id);

    public static ListDto<ResponseDto> Responses(Page<ResponseDto> page) => List(page, r => r.Id);

    public static ResponseDto Response(RunRecord r)
    {
        var state = r.Response!;
        string status = ResponseStatus.FromRun(r.Status);
        bool terminal = RunStatus.IsTerminal(r.Status);
        var agent = state.Agent;
        return new ResponseDto(
            r.Id, r.CreatedAt, status, state.Background, r.CompletedAt,
            status == ResponseStatus.Failed && r.LastError is { } e ? new ErrorDto(e.Code, e.Message) : null,
            r.IncompleteReason is { } reason ? new IncompleteDetailsDto(reason) : null,
            r.Instructions, r.MaxCompletionTokens, r.Model, state.Output.Select(Item).ToList(), r.ParallelToolCalls,
            state.PreviousResponseId, r.Temperature, "auto", r.Tools.Select(t => t.Raw).ToList(), r.TopP, "disabled",
            terminal ? new ResponseUsageDto(r.PromptTokens, new(0), r.CompletionTokens, new(0), r.PromptTokens + r.CompletionTokens) : null,
            new Dictionary<string, string>(r.Metadata, StringComparer.Ordinal), state.Store, new TextOptionsDto(new TextFormatDto("text")), null,
            state.Conversation is { } c ? new ConversationRefDto(c.Id) : null,
            agent is null ? null : new AgentIdDto(agent.Name, agent.Version),
            agent is null ? null : new AgentReferenceDto(agent.Name, agent.Version));
    }

    private static object Part(ContentPart part) => part switch
    {
        { Type: "output_text", Text: { } text } => new OutputTextDto(text, []),
        { Text: { } text } => new InputTextDto(text),
        _ => part.Raw ?? default(JsonElement),
    };
}
