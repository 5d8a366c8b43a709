using System.Collections.Concurrent;
using System.Text.Json;
using LocalAgentService.Engine;

namespace LocalAgentService.Storage;

/// <summary>
/// The Responses protocol's objects on the shared store: named agent versions, conversations (threads whose history
/// is items) and responses (runs with a <see cref="ResponseState"/>), driven by the same run engine as classic runs.
/// </summary>
internal sealed partial class AgentStore
{
    private readonly Lock agentsSync = new();
    private readonly Dictionary<string, NamedAgentRecord> namedAgents = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ThreadRecord> conversations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RunRecord> responses = new(StringComparer.Ordinal);
    private long agentVersionsCreated, agentsDeleted, conversationsCreated, conversationsDeleted, responsesCreated;

    // ---- agent versions ----

    public AgentVersionRecord CreateAgentVersion(string name, string model, string? instructions, IReadOnlyList<ToolSpec> tools,
        JsonElement definition, string? description, Dictionary<string, string>? metadata)
    {
        lock (agentsSync)
        {
            if (!namedAgents.TryGetValue(name, out var agent))
            {
                agent = new NamedAgentRecord { Name = name, Seq = NextSeq() };
                namedAgents[name] = agent;
            }

            agent.LastVersion++;
            var version = new AgentVersionRecord(
                name, agent.LastVersion.ToString(System.Globalization.CultureInfo.InvariantCulture), NowSeconds, NextSeq(),
                description, metadata ?? [], definition, model, instructions, tools);
            agent.Versions.Add(version);
            agentVersionsCreated++;
            return version;
        }
    }

    /// <summary>A version by number, or the latest when <paramref name="version"/> is null.</summary>
    public AgentVersionRecord GetAgentVersion(string name, string? version)
    {
        lock (agentsSync)
        {
            var agent = FindAgent(name);
            return version is null
                ? agent.Versions[^1]
                : agent.Versions.Find(v => v.Version == version) ?? throw ServiceException.NotFound("agent version", $"{name}:{version}");
        }
    }

    public Page<T> ListAgentVersions<T>(string name, PageQuery query, Func<AgentVersionRecord, T> project)
    {
        lock (agentsSync)
        {
            return Paging.Apply(FindAgent(name).Versions, v => v.Version, query, project);
        }
    }

    /// <summary>Every agent with its latest version.</summary>
    public Page<T> ListAgents<T>(PageQuery query, Func<AgentVersionRecord, T> project)
    {
        lock (agentsSync)
        {
            var latest = namedAgents.Values.OrderBy(a => a.Seq).Select(a => a.Versions[^1]).ToList();
            return Paging.Apply(latest, v => v.Name, query, project);
        }
    }

    /// <summary>Deletes one version; deleting the last version deletes the agent (its version numbers start again at 1).</summary>
    public void DeleteAgentVersion(string name, string version)
    {
        lock (agentsSync)
        {
            var agent = FindAgent(name);
            if (agent.Versions.RemoveAll(v => v.Version == version) == 0)
            {
                throw ServiceException.NotFound("agent version", $"{name}:{version}");
            }

            if (agent.Versions.Count == 0)
            {
                namedAgents.Remove(name);
                agentsDeleted++;
            }
        }
    }

    public void DeleteAgent(string name)
    {
        lock (agentsSync)
        {
            if (!namedAgents.Remove(name))
            {
                throw ServiceException.NotFound("agent", name);
            }

            agentsDeleted++;
        }
    }

    private NamedAgentRecord FindAgent(string name) =>
        namedAgents.TryGetValue(name, out var agent) ? agent : throw ServiceException.NotFound("agent", name);

    // ---- conversations ----

    public T CreateConversation<T>(Dictionary<string, string>? metadata, IReadOnlyList<ItemSpec> items, Func<ThreadRecord, T> project)
    {
        var conversation = new ThreadRecord { Id = Ids.New(Ids.Conversation), CreatedAt = NowSeconds, Seq = NextSeq(), Metadata = metadata ?? [] };
        conversation.Items.AddRange(items.Select(NewItem));
        conversations[conversation.Id] = conversation;
        Interlocked.Increment(ref conversationsCreated);
        lock (conversation.Sync)
        {
            return project(conversation);
        }
    }

    public T GetConversation<T>(string id, Func<ThreadRecord, T> project) => WithConversation(id, project);

    public T UpdateConversation<T>(string id, Dictionary<string, string>? metadata, Func<ThreadRecord, T> project) =>
        WithConversation(id, c =>
        {
            c.Metadata = metadata ?? c.Metadata;
            return project(c);
        });

    public void DeleteConversation(string id) => RemoveThread(conversations, id, "conversation", ref conversationsDeleted);

    public IReadOnlyList<T> AddConversationItems<T>(string id, IReadOnlyList<ItemSpec> items, Func<ItemRecord, T> project) =>
        WithConversation(id, c =>
        {
            var added = items.Select(NewItem).ToList();
            c.Items.AddRange(added);
            return added.Select(project).ToList();
        });

    public Page<T> ListConversationItems<T>(string id, PageQuery query, Func<ItemRecord, T> project) =>
        WithConversation(id, c => Paging.Apply(c.Items, i => i.Id, query, project));

    public T GetConversationItem<T>(string id, string itemId, Func<ItemRecord, T> project) =>
        WithConversation(id, c => project(c.Items.Find(i => i.Id == itemId) ?? throw ServiceException.NotFound("item", itemId)));

    private T WithConversation<T>(string id, Func<ThreadRecord, T> action) => WithThread(conversations, id, "conversation", action);

    private ItemRecord NewItem(ItemSpec spec) => new(Ids.New(ItemPrefix(spec.Type)), NowSeconds, NextSeq(), spec);

    private static string ItemPrefix(string type) => type switch
    {
        "message" => Ids.Message,
        "function_call" => Ids.FunctionCall,
        "function_call_output" => Ids.FunctionCallOutput,
        _ => Ids.Item,
    };

    // ---- responses ----

    /// <summary>Creates a response (a run on its conversation, or on a private thread) and hands it to the engine.</summary>
    public RunRecord CreateResponse(ResponseSpec spec)
    {
        if (spec.ConversationId is not null && spec.PreviousResponseId is not null)
        {
            throw ServiceException.Invalid("Mutually exclusive parameters: 'previous_response_id' and 'conversation' cannot be used together.", "conversation", "mutually_exclusive_parameters");
        }

        var agent = spec.AgentName is null ? null : GetAgentVersion(spec.AgentName, spec.AgentVersion);
        var history = spec.PreviousResponseId is { } previousId ? PreviousContext(previousId) : [];
        var input = spec.Input.Select(NewItem).ToList();
        string id = Ids.New(Ids.Response);
        if (spec.ConversationId is { } conversationId)
        {
            return WithConversation(conversationId, c =>
            {
                if (c.ActiveRun is { } active)
                {
                    throw ServiceException.Invalid($"Conversation {c.Id} already has a response in progress ({active.Id}).", "conversation", "conversation_locked");
                }

                return StartResponse(id, c, spec, agent, [.. c.Items], input);
            });
        }

        var thread = new ThreadRecord { Id = id, CreatedAt = NowSeconds, Seq = NextSeq() };
        lock (thread.Sync)
        {
            return StartResponse(id, thread, spec, agent, history, input);
        }
    }

    public T GetResponse<T>(string id, Func<RunRecord, T> project) => WithResponse(id, project);

    /// <summary>Cancels a background response at once (the engine's work on it stops); terminal or synchronous responses are a 400.</summary>
    public T CancelResponse<T>(string id, Func<RunRecord, T> project) =>
        WithResponse(id, run =>
        {
            if (!run.Response!.Background)
            {
                throw ServiceException.Invalid("Only responses created with background=true can be cancelled.", "response_id");
            }

            if (RunStatus.IsTerminal(run.Status))
            {
                throw ServiceException.Invalid($"Cannot cancel a response with status '{ResponseStatus.FromRun(run.Status)}'.", "response_id");
            }

            Finish(run, RunStatus.Cancelled);
            return project(run);
        });

    public void DeleteResponse(string id)
    {
        if (!responses.TryRemove(id, out var run))
        {
            throw ServiceException.NotFound("response", id);
        }

        lock (run.Thread.Sync)
        {
            if (!RunStatus.IsTerminal(run.Status))
            {
                Finish(run, RunStatus.Cancelled);
            }
        }
    }

    /// <summary>
    /// Stored responses, optionally of one conversation or agent name (Foundry's list-responses filters), in creation
    /// order. A response belongs to a conversation when it was created with <c>conversation</c>.
    /// </summary>
    public Page<T> ListResponses<T>(string? conversationId, string? agentName, PageQuery query, Func<RunRecord, T> project)
    {
        var matching = responses.Values
            .Where(r => r.Response!.Store)
            .Where(r => conversationId is null || string.Equals(r.Response!.Conversation?.Id, conversationId, StringComparison.Ordinal))
            .Where(r => agentName is null || string.Equals(r.Response!.Agent?.Name, agentName, StringComparison.Ordinal))
            .OrderBy(r => r.Seq)
            .ToList();
        return Paging.Apply(matching, r => r.Id, query, r => ReadResponse(r, project));
    }

    public Page<T> ListResponseInputItems<T>(string id, PageQuery query, Func<ItemRecord, T> project) =>
        WithResponse(id, run => Paging.Apply(run.Response!.Input, i => i.Id, query, project));

    /// <summary>Drops a finished response that was created with <c>store:false</c>.</summary>
    public void ForgetUnstored(RunRecord run)
    {
        if (!run.Response!.Store)
        {
            responses.TryRemove(run.Id, out _);
        }
    }

    /// <summary>Projects a response the caller already holds (e.g. the one it just created) under its lock.</summary>
    public static T ReadResponse<T>(RunRecord run, Func<RunRecord, T> project)
    {
        lock (run.Thread.Sync)
        {
            return project(run);
        }
    }

    private T WithResponse<T>(string id, Func<RunRecord, T> action) =>
        ReadResponse(responses.TryGetValue(id, out var run) ? run : throw ServiceException.NotFound("response", id), action);

    /// <summary>The context a follow-up sees: the previous response's history, input and output.</summary>
    private List<ItemRecord> PreviousContext(string previousId)
    {
        var previous = responses.TryGetValue(previousId, out var r) ? r : throw ServiceException.NotFound("response", previousId);
        lock (previous.Thread.Sync)
        {
            if (!RunStatus.IsTerminal(previous.Status))
            {
                throw ServiceException.Invalid($"Previous response {previousId} is still {ResponseStatus.FromRun(previous.Status)}; wait for it to finish.", "previous_response_id");
            }

            var state = previous.Response!;
            return [.. state.History, .. state.Input, .. state.Output];
        }
    }

    private RunRecord StartResponse(string id, ThreadRecord thread, ResponseSpec spec, AgentVersionRecord? agent, List<ItemRecord> history, List<ItemRecord> input)
    {
        CheckToolOutputs(history.Concat(input).Select(i => i.Spec).ToList());
        var run = new RunRecord
        {
            Id = id,
            Thread = thread,
            AssistantId = agent?.Id ?? "",
            CreatedAt = NowSeconds,
            Seq = NextSeq(),
            Model = agent?.Model ?? spec.Model ?? throw ServiceException.Invalid("Missing required parameter: 'agent_reference' (or 'model').", "agent_reference", "missing_required_parameter"),
            Instructions = agent is null ? spec.Instructions : agent.Instructions,
            Tools = agent?.Tools ?? spec.Tools ?? [],
            Metadata = spec.Metadata ?? [],
            Temperature = spec.Temperature ?? 1.0,
            TopP = spec.TopP ?? 1.0,
            MaxCompletionTokens = spec.MaxOutputTokens,
            ParallelToolCalls = spec.ParallelToolCalls ?? true,
            Fault = spec.Fault,
            Response = new ResponseState
            {
                Agent = agent,
                Background = spec.Background,
                Store = spec.Store,
                PreviousResponseId = spec.PreviousResponseId,
                Conversation = spec.ConversationId is null ? null : thread,
                History = history,
                Input = input,
            },
        };
        responses[run.Id] = run;
        Interlocked.Increment(ref responsesCreated);
        Launch(run, spec.Observer);
        return run;
    }

    /// <summary>Like the service: every output must answer a known call, and every call must be answered before the model runs again.</summary>
    private static void CheckToolOutputs(IReadOnlyList<ItemSpec> context)
    {
        var calls = context.Where(i => i.Type == "function_call").Select(i => i.CallId!).ToHashSet(StringComparer.Ordinal);
        var answered = new HashSet<string>(StringComparer.Ordinal);
        foreach (var output in context.Where(i => i.Type == "function_call_output"))
        {
            if (!calls.Contains(output.CallId!))
            {
                throw ServiceException.Invalid($"No tool call found for function call output with call_id {output.CallId}.", "input");
            }

            answered.Add(output.CallId!);
        }

        if (calls.FirstOrDefault(c => !answered.Contains(c)) is { } missing)
        {
            throw ServiceException.Invalid($"No tool output found for function call {missing}.", "input");
        }
    }

    // ---- engine side ----

    /// <summary>Items → model turns: consecutive function calls become one assistant turn, outputs become tool turns.</summary>
    private static List<ModelTurn> ItemTurns(IEnumerable<ItemRecord> items)
    {
        var turns = new List<ModelTurn>();
        foreach (var spec in items.Select(i => i.Spec))
        {
            switch (spec.Type)
            {
                case "message":
                    turns.Add(new ModelTurn(spec.Role == "assistant" ? "assistant" : "user", spec.Text));
                    break;
                case "function_call":
                    var call = new ModelToolCall(spec.CallId!, spec.Name!, spec.Arguments ?? "{}");
                    if (turns.Count > 0 && turns[^1] is { Role: "assistant", ToolCalls: { } open })
                    {
                        turns[^1] = turns[^1] with { ToolCalls = [.. open, call] };
                    }
                    else
                    {
                        turns.Add(new ModelTurn("assistant", "", [call]));
                    }

                    break;
                case "function_call_output":
                    turns.Add(new ModelTurn("tool", spec.Output ?? "", ToolCallId: spec.CallId));
                    break;
            }
        }

        return turns;
    }

    /// <summary>A response's answer (lock held): function calls or a message become output items; the response completes either way.</summary>
    private void ApplyResponseOutput(RunRecord run, ModelResponse response)
    {
        var state = run.Response!;
        if (response.ToolCalls.Count > 0)
        {
            state.Output.AddRange(response.ToolCalls.Select(c => NewItem(new ItemSpec("function_call", CallId: c.Id, Name: c.Name, Arguments: c.Arguments)) with { ResponseId = run.Id, Agent = state.Agent }));
            Finish(run, RunStatus.Completed);
            return;
        }

        string text = CapText(run, response, "max_output_tokens", out bool truncated);

        state.Output.Add(NewItem(new ItemSpec("message", "assistant", [new ContentPart("output_text", text, null)])) with { ResponseId = run.Id, Agent = state.Agent });
        Finish(run, truncated ? RunStatus.Incomplete : RunStatus.Completed);
    }

    /// <summary>On a finished conversation response (lock held): the response's input and output join the conversation.</summary>
    private static void AppendToConversation(RunRecord run)
    {
        if (run.Response is { Conversation: { Deleted: false } conversation } state && run.Status is RunStatus.Completed or RunStatus.Incomplete)
        {
            conversation.Items.AddRange(state.Input);
            conversation.Items.AddRange(state.Output);
        }
    }

    private Dictionary<string, int> ResponsesByStatus(out int active)
    {
        var byStatus = ResponseStatus.All.ToDictionary(s => s, _ => 0, StringComparer.Ordinal);
        active = 0;
        foreach (var run in responses.Values)
        {
            lock (run.Thread.Sync)
            {
                byStatus[ResponseStatus.FromRun(run.Status)]++;
                active += RunStatus.IsTerminal(run.Status) ? 0 : 1;
            }
        }

        return byStatus;
    }
}
