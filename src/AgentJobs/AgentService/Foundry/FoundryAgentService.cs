using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentJobs.Contracts;
using OpenAI.Conversations;
using OpenAI.Responses;

namespace AgentJobs.AgentService.Foundry;

/// <summary>
/// The current Foundry Agent Service behind the same port: agent ↔ agent version, thread ↔ conversation,
/// message ↔ conversation item, run ↔ background response referencing the agent. Function calls arrive as
/// <c>function_call</c> output items of a finished response and are answered with a follow-up response, so the
/// run id moves on every tool round. Responses and conversations go through the OpenAI SDK's clients; their
/// results are read as raw JSON so a status word this version does not know cannot crash a job.
/// </summary>
public sealed class FoundryAgentService : IAgentService
{
    readonly ResponsesClient responses;
    readonly ConversationClient conversations;
    readonly FoundryAgentsClient agents;

    /// <summary>Creates the adapter over configured clients (see <see cref="AgentServiceClients"/>).</summary>
    public FoundryAgentService(ResponsesClient responses, ConversationClient conversations, FoundryAgentsClient agents)
    {
        this.responses = responses ?? throw new ArgumentNullException(nameof(responses));
        this.conversations = conversations ?? throw new ArgumentNullException(nameof(conversations));
        this.agents = agents ?? throw new ArgumentNullException(nameof(agents));
    }

    /// <inheritdoc />
    /// <remarks>The name is made unique per job, so a retried create adds a version to the job's own agent,
    /// and deleting the agent by name removes every version.</remarks>
    public Task<AgentRef> CreateAgentAsync(AgentDefinition definition, string idempotencyKey, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("create agent version", async () =>
        {
            ArgumentNullException.ThrowIfNull(definition);
            var name = AgentNames.ForJob(definition.Name, idempotencyKey);
            var tools = new JsonArray();
            foreach (var tool in definition.Tools)
            {
                tools.Add(new JsonObject
                {
                    ["type"] = "function",
                    ["name"] = tool.Name,
                    ["description"] = tool.Description,
                    ["parameters"] = JsonNode.Parse(tool.ParametersSchema),
                    // Strict mode needs every property required and no extras; generated schemas do not promise that.
                    ["strict"] = false,
                });
            }

            var metadata = new JsonObject();
            foreach (var (k, v) in definition.Metadata)
            {
                metadata[k] = v;
            }

            var body = new JsonObject
            {
                ["description"] = $"AgentFunctions job agent '{definition.Name}'",
                ["metadata"] = metadata,
                ["definition"] = new JsonObject
                {
                    ["kind"] = "prompt",
                    ["model"] = definition.Model,
                    ["instructions"] = definition.Instructions,
                    ["tools"] = tools,
                },
            };
            var version = await agents.CreateVersionAsync(name, body, cancellationToken);
            return new AgentRef(name, name, version);
        });

    /// <inheritdoc />
    public Task<bool> DeleteAgentAsync(AgentRef agent, CancellationToken cancellationToken) =>
        ServiceCall.DeleteAsync("delete agent", async () =>
        {
            ArgumentNullException.ThrowIfNull(agent);
            await agents.DeleteAgentAsync(agent.Name, cancellationToken);
            return true;
        });

    /// <inheritdoc />
    public Task<string> CreateThreadAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("create conversation", async () =>
        {
            var body = new JsonObject { ["metadata"] = new JsonObject { [Classic.ClassicAgentService.IdempotencyMetadataKey] = idempotencyKey } };
            var result = await conversations.CreateConversationAsync(Content(body), Options(cancellationToken));
            using var doc = Parse(result);
            return Str(doc.RootElement, "id") ?? throw new AgentServiceException("create conversation: the answer has no id.");
        });

    /// <inheritdoc />
    public Task<bool> DeleteThreadAsync(string threadId, CancellationToken cancellationToken) =>
        ServiceCall.DeleteAsync("delete conversation", async () =>
        {
            await conversations.DeleteConversationAsync(threadId, Options(cancellationToken));
            return true;
        });

    /// <inheritdoc />
    /// <remarks>
    /// The user's message is the response's input: the service appends it to the conversation together with the
    /// response's output. A retry finds the response it created by the key in its metadata (listing the
    /// conversation's newest responses) instead of starting a second one.
    /// </remarks>
    public Task<RunState> StartRunAsync(AgentRef agent, string threadId, string userMessage, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("create response", async () =>
        {
            ArgumentNullException.ThrowIfNull(agent);
            var input = new JsonArray(new JsonObject { ["type"] = "message", ["role"] = "user", ["content"] = userMessage });
            return await CreateResponseOnceAsync(ResponseBody(agent, threadId, input, idempotencyKey), threadId, idempotencyKey, streamWindow, cancellationToken);
        });

    /// <inheritdoc />
    public Task<RunState> GetRunAsync(RunRef run, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("get response", async () =>
        {
            ArgumentNullException.ThrowIfNull(run);
            var result = await responses.GetResponseAsync(run.RunId, include: null, stream: null, startingAfter: null, includeObfuscation: null, Options(cancellationToken));
            return ToRunState(result, run.ThreadId);
        });

    /// <inheritdoc />
    /// <remarks>
    /// The outputs go into a new background response on the same conversation, so the conversation keeps the
    /// whole exchange (calls, outputs, answer) for a caller who continues it later. Idempotent like
    /// <see cref="StartRunAsync"/>.
    /// </remarks>
    public Task<RunState> SubmitToolOutputsAsync(AgentRef agent, RunRef run, IReadOnlyList<ToolOutput> outputs, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("create response with tool outputs", async () =>
        {
            ArgumentNullException.ThrowIfNull(agent);
            ArgumentNullException.ThrowIfNull(run);
            ArgumentNullException.ThrowIfNull(outputs);
            var input = new JsonArray();
            foreach (var output in outputs)
            {
                input.Add(new JsonObject { ["type"] = "function_call_output", ["call_id"] = output.ToolCallId, ["output"] = output.Output });
            }

            return await CreateResponseOnceAsync(ResponseBody(agent, run.ThreadId, input, idempotencyKey), run.ThreadId, idempotencyKey, streamWindow, cancellationToken);
        });

    /// <inheritdoc />
    /// <remarks>
    /// A response that finished with <c>function_call</c> items cannot be cancelled (it has completed) and has
    /// already put those calls into the conversation, where a later response would fail on them ("No tool output
    /// found"). Its calls are closed instead: each gets a <see cref="ToolOutput.NotRun"/> output item added to the
    /// conversation (once: outputs already there are not added again), and the run is reported
    /// <see cref="AgentRunStatus.Cancelled"/> with the service's own status word kept in <see cref="RunState.RawStatus"/>.
    /// </remarks>
    public Task<RunState> CancelRunAsync(RunState run, string reason, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("cancel response", async () =>
        {
            ArgumentNullException.ThrowIfNull(run);
            var state = run;
            if (!run.IsTerminal && run.Status != AgentRunStatus.RequiresAction)
            {
                try
                {
                    state = ToRunState(await responses.CancelResponseAsync(run.RunId, Options(cancellationToken)), run.ThreadId);
                }
                catch (ClientResultException ex) when (ex.Status is 400 or 409)
                {
                    // Refused: the response ended meanwhile. Read how.
                    state = ToRunState(
                        await responses.GetResponseAsync(run.RunId, include: null, stream: null, startingAfter: null, includeObfuscation: null, Options(cancellationToken)),
                        run.ThreadId);
                    if (!state.IsTerminal && state.Status != AgentRunStatus.RequiresAction)
                    {
                        throw ServiceCall.Translate("cancel response", ex);
                    }
                }
            }

            if (state.Status != AgentRunStatus.RequiresAction)
            {
                return state;
            }

            await CloseOpenToolCallsCoreAsync(run.ThreadId, reason, cancellationToken);
            return state with { Status = AgentRunStatus.Cancelled, ToolCalls = [] };
        });

    /// <inheritdoc />
    /// <remarks>Every call that starts a response marks it with its key, so <paramref name="previous"/> is not needed:
    /// the previous response has ended (with function calls), and closing its calls here would race the submission.</remarks>
    public async Task<RunState?> CancelStartedRunAsync(string threadId, string idempotencyKey, RunRef? previous, string reason, CancellationToken cancellationToken)
    {
        var run = await ServiceCall.RunAsync("find response", () => FindResponseAsync(threadId, idempotencyKey, cancellationToken));
        return run is null ? null : await CancelRunAsync(run, reason, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Reads the conversation's newest 100 items: every <c>function_call</c> without a <c>function_call_output</c>
    /// gets one (<see cref="ToolOutput.NotRun"/>), added as conversation items. This repairs the conversation after a
    /// follow-up response that carried the outputs was cancelled or failed (its input is then never appended).
    /// </remarks>
    public Task<int> CloseOpenToolCallsAsync(string threadId, string reason, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("close open function calls", () => CloseOpenToolCallsCoreAsync(threadId, reason, cancellationToken));

    async Task<int> CloseOpenToolCallsCoreAsync(string conversationId, string reason, CancellationToken cancellationToken)
    {
        var items = await ListItemsAsync(conversationId, "desc", 100, cancellationToken);
        var answered = items.Where(i => Str(i, "type") == "function_call_output").Select(i => Str(i, "call_id")).ToHashSet(StringComparer.Ordinal);
        var open = items
            .Where(i => Str(i, "type") == "function_call" && Str(i, "call_id") is { } id && !answered.Contains(id))
            .Select(i => Str(i, "call_id")!)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        if (open.Count == 0)
        {
            return 0;
        }

        var outputs = new JsonArray();
        foreach (var callId in open)
        {
            outputs.Add(new JsonObject { ["type"] = "function_call_output", ["call_id"] = callId, ["output"] = ToolOutput.NotRun(callId, reason).Output });
        }

        await conversations.CreateConversationItemsAsync(conversationId, Content(new JsonObject { ["items"] = outputs }), include: null, Options(cancellationToken));
        return open.Count;
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<JobMessage>> ListMessagesAsync(string threadId, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync<IReadOnlyList<JobMessage>>("list conversation items", async () =>
        {
            var items = await ListItemsAsync(threadId, "asc", null, cancellationToken);
            return [.. items.Where(i => Str(i, "type") == "message").Select(ToJobMessage)];
        });

    /// <inheritdoc />
    /// <remarks>A response's output items are its steps: messages and function calls; outputs come from the conversation.</remarks>
    public Task<IReadOnlyList<JobRunStep>> ListRunStepsAsync(string threadId, IReadOnlyList<string> runIds, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync<IReadOnlyList<JobRunStep>>("list response output items", async () =>
        {
            ArgumentNullException.ThrowIfNull(runIds);
            var outputsByCall = (await ListItemsAsync(threadId, "asc", null, cancellationToken))
                .Where(i => Str(i, "type") == "function_call_output" && Str(i, "call_id") is not null)
                .GroupBy(i => Str(i, "call_id")!)
                .ToDictionary(g => g.Key, g => OutputText(g.Last()));

            var steps = new List<JobRunStep>();
            foreach (var runId in runIds)
            {
                var result = await responses.GetResponseAsync(runId, include: null, stream: null, startingAfter: null, includeObfuscation: null, Options(cancellationToken));
                using var doc = Parse(result);
                if (!doc.RootElement.TryGetProperty("output", out var output) || output.ValueKind != JsonValueKind.Array)
                {
                    continue;
                }

                foreach (var item in output.EnumerateArray())
                {
                    var id = Str(item, "id") ?? $"{runId}:{steps.Count}";
                    var status = Str(item, "status") ?? "completed";
                    switch (Str(item, "type"))
                    {
                        case "message":
                            steps.Add(new JobRunStep(id, "message_creation", status, runId, id, []));
                            break;
                        case "function_call":
                            var callId = Str(item, "call_id") ?? id;
                            steps.Add(new JobRunStep(id, "tool_calls", status, runId, null,
                                [new JobToolCall(callId, Str(item, "name") ?? "", Str(item, "arguments") ?? "{}", outputsByCall.GetValueOrDefault(callId))]));
                            break;
                    }
                }
            }

            return steps;
        });

    static JsonObject ResponseBody(AgentRef agent, string conversationId, JsonArray input, string? idempotencyKey)
    {
        var reference = new JsonObject { ["type"] = "agent_reference", ["name"] = agent.Name };
        if (agent.Version is { } version)
        {
            reference["version"] = version;
        }

        var body = new JsonObject
        {
            ["agent_reference"] = reference,
            ["conversation"] = conversationId,
            ["input"] = input,
            ["background"] = true,
        };
        if (idempotencyKey is not null)
        {
            body["metadata"] = new JsonObject { [Classic.ClassicAgentService.IdempotencyMetadataKey] = idempotencyKey };
        }

        return body;
    }

    /// <summary>
    /// Creates the background response unless an earlier attempt did (found by its key). With a stream window it is
    /// created streamed and its <c>response.*</c> events followed; a stream that breaks is resumed after its last
    /// <c>sequence_number</c> while the window lasts. A refused stream, or one that broke before the response appeared,
    /// falls back to the plain create, which first looks for a response the stream did create.
    /// </summary>
    async Task<RunState> CreateResponseOnceAsync(JsonObject body, string conversationId, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken)
    {
        if (await FindResponseAsync(conversationId, idempotencyKey, cancellationToken) is { } existing)
        {
            return streamWindow > TimeSpan.Zero && Deltas.DeltaWriter.Current is { } writer
                ? await ResumeStreamAsync(existing, conversationId, writer.LastStreamSequence, streamWindow, cancellationToken)
                : existing;
        }

        if (streamWindow > TimeSpan.Zero && await StreamResponseAsync(body, conversationId, streamWindow, cancellationToken) is { } streamed)
        {
            return streamed;
        }

        if (streamWindow > TimeSpan.Zero && await FindResponseAsync(conversationId, idempotencyKey, cancellationToken) is { } created)
        {
            return created;
        }

        var result = await responses.CreateResponseAsync(Content(body), Options(cancellationToken));
        return ToRunState(result, conversationId);
    }

    async Task<RunState?> FindResponseAsync(string conversationId, string idempotencyKey, CancellationToken cancellationToken)
    {
        if (await agents.FindResponseAsync(conversationId, Classic.ClassicAgentService.IdempotencyMetadataKey, idempotencyKey, cancellationToken) is not { } existing)
        {
            return null;
        }

        using var found = existing;
        return ToRunState(found.RootElement, conversationId, pollAfterMs: null);
    }

    async Task<RunState?> StreamResponseAsync(JsonObject body, string conversationId, TimeSpan window, CancellationToken cancellationToken)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var streamed = (JsonObject)body.DeepClone();
        streamed["stream"] = true;
        RunStream.Followed followed;
        try
        {
            followed = await RunStream.FollowAsync(
                ct => Events(() => responses.CreateResponseAsync(Content(streamed), Streamed(ct)), conversationId, null, ct), window, null, cancellationToken);
        }
        catch (Exception ex) when (RunStream.IsUnsupported(ex) || RunStream.IsBreak(ex))
        {
            return null;
        }

        // Resume a stream that broke early, after the last event seen, for what is left of the window.
        for (var resumes = 0; resumes < 3 && followed is { Settled: false, Last: { } run, ResumeAfter: { } after }; resumes++)
        {
            var left = window - System.Diagnostics.Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                break;
            }

            try
            {
                var next = await RunStream.FollowAsync(
                    ct => Events(() => responses.GetResponseAsync(run.RunId, include: null, stream: true, startingAfter: (int)after, includeObfuscation: null, Streamed(ct)), conversationId, run.RunId, ct),
                    left, after, cancellationToken);
                if (next.Last is null)
                {
                    break; // nothing after the last event, or no stream: poll from here
                }

                followed = next;
            }
            catch (Exception ex) when (RunStream.IsUnsupported(ex) || RunStream.IsBreak(ex))
            {
                break;
            }
        }

        return followed.Last;
    }

    /// <summary>
    /// A retried streamed call (its worker died mid-stream) picks the response's stream up again after the last event
    /// the call's delta log holds (<c>starting_after</c>), so the log goes on where it stopped, with nothing repeated
    /// (the writer skips events it has), also when the response has ended meanwhile (the rest is replayed at once).
    /// The response as found is returned when the stream is refused or yields nothing.
    /// </summary>
    async Task<RunState> ResumeStreamAsync(RunState existing, string conversationId, long? after, TimeSpan window, CancellationToken cancellationToken)
    {
        try
        {
            var followed = await RunStream.FollowAsync(
                ct => Events(() => responses.GetResponseAsync(existing.RunId, include: null, stream: true, startingAfter: after is { } n ? (int)n : null, includeObfuscation: null, Streamed(ct)), conversationId, existing.RunId, ct),
                window, after, cancellationToken);
            return followed.Last ?? existing;
        }
        catch (Exception ex) when (RunStream.IsUnsupported(ex) || RunStream.IsBreak(ex))
        {
            return existing;
        }
    }

    /// <summary>
    /// The response as each <c>response.*</c> lifecycle event shows it, with the event's <c>sequence_number</c>. A
    /// service that answers with the plain object instead of a stream yields that object once.
    /// </summary>
    static async IAsyncEnumerable<(RunState, long?)> Events(
        Func<Task<ClientResult>> send, string conversationId, string? knownResponseId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var result = await send();
        using var response = result.GetRawResponse();
        if (!IsEventStream(response))
        {
            yield return (ToRunState(result, conversationId), null);
            yield break;
        }

        var stream = response.ContentStream ?? throw new IOException("The response stream has no content.");
        var deltas = Deltas.DeltaWriter.Current;
        var responseId = knownResponseId;
        await foreach (var item in System.Net.ServerSentEvents.SseParser.Create(stream).EnumerateAsync(cancellationToken))
        {
            if (item.Data is not { Length: > 0 } data || data == "[DONE]")
            {
                continue;
            }

            using var doc = JsonDocument.Parse(data);
            var root = doc.RootElement;
            long? sequence = root.TryGetProperty("sequence_number", out var n) && n.TryGetInt64(out var number) ? number : null;
            var type = Str(root, "type");
            if (type == "response.output_text.delta")
            {
                // The words as they are written, for watchers.
                if (deltas is not null && responseId is not null && Str(root, "delta") is { Length: > 0 } text)
                {
                    deltas.Add(responseId, Str(root, "item_id"), text, sequence);
                }
            }
            else if (root.TryGetProperty("response", out var snapshot) && snapshot.ValueKind == JsonValueKind.Object && type?.StartsWith("response.", StringComparison.Ordinal) == true)
            {
                responseId = Str(snapshot, "id") ?? responseId;
                yield return (ToRunState(snapshot, conversationId, pollAfterMs: null), sequence);
            }
            else if (type == "error")
            {
                throw new AgentServiceException($"The response stream reported an error: {(root.TryGetProperty("message", out var m) ? m.ToString() : data)}");
            }
        }
    }

    static bool IsEventStream(PipelineResponse response) =>
        response.Headers.TryGetValue("Content-Type", out var type) && type?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>
    /// Options of a streamed request. <c>Accept: */*</c> instead of the SDK's <c>text/event-stream</c>: that Accept opts
    /// the request into System.ClientModel's own SSE reconnect, which re-sends a dropped stream's request unchanged
    /// (the same <c>starting_after</c>, as the service sends no event ids) every few seconds until the window ends, so
    /// the same events came back and the bounded resume here never ran. Resuming is this adapter's job.
    /// </summary>
    static RequestOptions Streamed(CancellationToken cancellationToken)
    {
        var options = new RequestOptions { CancellationToken = cancellationToken, BufferResponse = false };
        options.SetHeader("Accept", "*/*");
        return options;
    }

    async Task<List<JsonElement>> ListItemsAsync(string conversationId, string order, int? limit, CancellationToken cancellationToken)
    {
        var items = new List<JsonElement>();
        await foreach (var page in conversations.GetConversationItemsAsync(conversationId, limit ?? 100, order, after: null, include: null, Options(cancellationToken)).GetRawPagesAsync())
        {
            using var doc = JsonDocument.Parse(page.GetRawResponse().Content.ToMemory());
            if (doc.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array)
            {
                items.AddRange(data.EnumerateArray().Select(e => e.Clone()));
            }

            if (limit is not null && items.Count >= limit)
            {
                break;
            }
        }

        return items;
    }

    /// <summary>Maps a Response object onto the port: completed with function calls means tool outputs are needed.</summary>
    internal static RunState ToRunState(ClientResult result, string conversationId)
    {
        using var doc = Parse(result);
        return ToRunState(doc.RootElement, conversationId, ServiceCall.PollAfterMs(result.GetRawResponse()));
    }

    static RunState ToRunState(JsonElement root, string conversationId, int? pollAfterMs)
    {
        var raw = Str(root, "status") ?? "unknown";
        var status = AgentRunStatusExtensions.Parse(raw);
        var calls = new List<ToolCallRequest>();
        if (root.TryGetProperty("output", out var output) && output.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in output.EnumerateArray().Where(i => Str(i, "type") == "function_call"))
            {
                calls.Add(new ToolCallRequest(Str(item, "call_id") ?? Str(item, "id") ?? "", Str(item, "name") ?? "", Str(item, "arguments") ?? "{}"));
            }
        }

        if (status == AgentRunStatus.Completed && calls.Count > 0)
        {
            status = AgentRunStatus.RequiresAction;
        }

        JobFailure? error = root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.Object
            ? new JobFailure(Str(e, "code") ?? "error", Str(e, "message") ?? "The response failed.")
            : null;
        var incomplete = root.TryGetProperty("incomplete_details", out var details) && details.ValueKind == JsonValueKind.Object
            ? Str(details, "reason")
            : null;
        TokenUsage? usage = root.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object
            ? new TokenUsage(Int(u, "input_tokens"), Int(u, "output_tokens"), Int(u, "total_tokens"))
            : null;
        return new RunState(
            conversationId,
            Str(root, "id") ?? throw new AgentServiceException("The response object has no id."),
            status,
            raw,
            status == AgentRunStatus.RequiresAction ? calls : [],
            error,
            incomplete,
            usage,
            pollAfterMs);
    }

    static JobMessage ToJobMessage(JsonElement item)
    {
        var runId = item.TryGetProperty("created_by", out var by) && by.ValueKind == JsonValueKind.Object ? Str(by, "response_id") : null;
        var created = item.TryGetProperty("created_at", out var at) && at.TryGetInt64(out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : DateTimeOffset.MinValue;
        return new JobMessage(Str(item, "id") ?? "", Str(item, "role") ?? "assistant", Text(item), runId, created);
    }

    static string Text(JsonElement item)
    {
        if (!item.TryGetProperty("content", out var content))
        {
            return "";
        }

        return content.ValueKind switch
        {
            JsonValueKind.String => content.GetString()!,
            JsonValueKind.Array => string.Concat(content.EnumerateArray().Select(p => Str(p, "text") ?? "")),
            _ => "",
        };
    }

    static string OutputText(JsonElement item) =>
        item.TryGetProperty("output", out var o) ? o.ValueKind == JsonValueKind.String ? o.GetString()! : o.GetRawText() : "";

    static JsonDocument Parse(ClientResult result) => JsonDocument.Parse(result.GetRawResponse().Content.ToMemory());

    static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;

    static int Int(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.TryGetInt32(out var i) ? i : 0;

    static BinaryContent Content(JsonObject body) => BinaryContent.Create(BinaryData.FromString(body.ToJsonString()));

    static RequestOptions Options(CancellationToken cancellationToken) => new() { CancellationToken = cancellationToken };
}
