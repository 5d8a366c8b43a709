using System.ClientModel;
using AgentJobs.Contracts;
using OpenAI.Assistants;

namespace AgentJobs.AgentService.Classic;

/// <summary>
/// The threads/runs adapter, on the OpenAI SDK's <see cref="AssistantClient"/>: Foundry classic agents (project
/// endpoint + Entra token + <c>api-version</c>) and any Assistants-compatible service (endpoint + key).
/// </summary>
public sealed class ClassicAgentService : IAgentService
{
    /// <summary>Metadata key that marks what a job created, so a retried activity finds it instead of creating twice.</summary>
    public const string IdempotencyMetadataKey = "agentfunctions_key";

    const int RecentPageSize = 100;

    readonly AssistantClient client;

    /// <summary>Creates the adapter over a configured client (see <see cref="AgentServiceClients"/>).</summary>
    public ClassicAgentService(AssistantClient client)
    {
        this.client = client ?? throw new ArgumentNullException(nameof(client));
    }

    /// <inheritdoc />
    public Task<AgentRef> CreateAgentAsync(AgentDefinition definition, string idempotencyKey, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("create agent", async () =>
        {
            ArgumentNullException.ThrowIfNull(definition);

            // A retry of this activity may follow a create whose response was lost: look for that agent among the
            // newest ones (one page) before creating another.
            var seen = 0;
            await foreach (var existing in client.GetAssistantsAsync(
                new AssistantCollectionOptions { Order = AssistantCollectionOrder.Descending, PageSizeLimit = RecentPageSize }, cancellationToken))
            {
                if (existing.Metadata.TryGetValue(IdempotencyMetadataKey, out var key) && key == idempotencyKey)
                {
                    return new AgentRef(existing.Id, existing.Name);
                }

                if (++seen >= RecentPageSize)
                {
                    break;
                }
            }

            var options = new AssistantCreationOptions { Name = definition.Name, Instructions = definition.Instructions };
            foreach (var tool in definition.Tools)
            {
                options.Tools.Add(new FunctionToolDefinition(tool.Name)
                {
                    Description = tool.Description,
                    Parameters = BinaryData.FromString(tool.ParametersSchema),
                });
            }

            foreach (var (k, v) in definition.Metadata)
            {
                options.Metadata[k] = v;
            }

            options.Metadata[IdempotencyMetadataKey] = idempotencyKey;
            Assistant created = await client.CreateAssistantAsync(definition.Model, options, cancellationToken);
            return new AgentRef(created.Id, created.Name);
        });

    /// <inheritdoc />
    public Task<bool> DeleteAgentAsync(AgentRef agent, CancellationToken cancellationToken) =>
        ServiceCall.DeleteAsync("delete agent", async () =>
        {
            ArgumentNullException.ThrowIfNull(agent);
            AssistantDeletionResult result = await client.DeleteAssistantAsync(agent.Id, cancellationToken);
            return result.Deleted;
        });

    /// <inheritdoc />
    public Task<string> CreateThreadAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("create thread", async () =>
        {
            // Threads cannot be listed in this protocol, so a retried create may leave an empty thread behind;
            // it holds no data and no agent, which is the resource that matters.
            var options = new ThreadCreationOptions();
            options.Metadata[IdempotencyMetadataKey] = idempotencyKey;
            AssistantThread thread = await client.CreateThreadAsync(options, cancellationToken);
            return thread.Id;
        });

    /// <inheritdoc />
    public Task<bool> DeleteThreadAsync(string threadId, CancellationToken cancellationToken) =>
        ServiceCall.DeleteAsync("delete thread", async () =>
        {
            ThreadDeletionResult result = await client.DeleteThreadAsync(threadId, cancellationToken);
            return result.Deleted;
        });

    /// <inheritdoc />
    /// <remarks>The message and the run each carry a key derived from <paramref name="idempotencyKey"/> in their
    /// metadata; a retry looks for them among the thread's newest messages and runs before creating either. With a
    /// stream window the run is created with <c>stream: true</c> and its <c>thread.run.*</c> events followed; a
    /// stream that is refused, or breaks before the run appears, falls back to the plain create (which finds a run
    /// the stream did create by its key).</remarks>
    public Task<RunState> StartRunAsync(AgentRef agent, string threadId, string userMessage, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken) =>
        WithUsageSoFarAsync(ServiceCall.RunAsync("start run", async () =>
        {
            ArgumentNullException.ThrowIfNull(agent);
            await AddUserMessageAsync(threadId, userMessage, $"{idempotencyKey}:message", cancellationToken);
            if (await FindRunAsync(threadId, idempotencyKey, cancellationToken) is { } existing)
            {
                await ContinueDeltaLogAsync(existing, cancellationToken);
                return existing;
            }

            var options = new RunCreationOptions();
            options.Metadata[IdempotencyMetadataKey] = idempotencyKey;
            if (streamWindow > TimeSpan.Zero &&
                await StreamAsync(ct => client.CreateRunStreamingAsync(threadId, agent.Id, options, ct), streamWindow, cancellationToken) is { } streamed)
            {
                return streamed;
            }

            return await FindRunAsync(threadId, idempotencyKey, cancellationToken)
                ?? ClassicMapping.ToRunState(await client.CreateRunAsync(threadId, agent.Id, options, cancellationToken));
        }), cancellationToken);

    /// <summary>
    /// A run waiting for tool outputs with the usage of its steps so far. The service reports a run's usage only when
    /// the run ends, so within one run's tool loop the job's token budget would see nothing until the end (an agent
    /// that calls tools for ever ran 16 rounds and 2,550 tokens under a 200-token budget); each step carries its own.
    /// </summary>
    async Task<RunState> WithUsageSoFarAsync(Task<RunState> call, CancellationToken cancellationToken)
    {
        var run = await call;
        if (run.Status != AgentRunStatus.RequiresAction || run.Usage is not null)
        {
            return run;
        }

        return await ServiceCall.RunAsync("list run steps", async () =>
        {
            TokenUsage? used = null;
            await foreach (var step in client.GetRunStepsAsync(
                run.ThreadId, run.RunId, new RunStepCollectionOptions { Order = RunStepCollectionOrder.Ascending, PageSizeLimit = 100 }, cancellationToken))
            {
                if (step.Usage is { } u)
                {
                    used = TokenUsage.Add(used, new TokenUsage(u.InputTokenCount, u.OutputTokenCount, u.TotalTokenCount));
                }
            }

            return run with { Usage = used };
        });
    }

    /// <summary>
    /// A retried streamed call (its worker died mid-stream) cannot re-attach to the run's stream in this protocol: once
    /// the run has ended, its messages are read and the text the call's delta log lacks (what follows what the earlier
    /// attempt logged) is appended, so the log spells the reply without repeating any of it. A run still going is
    /// polled by the workflow; its text reaches watchers with the reply.
    /// </summary>
    async Task ContinueDeltaLogAsync(RunState run, CancellationToken cancellationToken)
    {
        if (Deltas.DeltaWriter.Current is not { } writer || run.Status is not (AgentRunStatus.Completed or AgentRunStatus.Incomplete))
        {
            return;
        }

        var mine = new List<ThreadMessage>();
        await foreach (var message in client.GetMessagesAsync(
            run.ThreadId, new MessageCollectionOptions { Order = MessageCollectionOrder.Descending, PageSizeLimit = 20 }, cancellationToken))
        {
            if (message.RunId == run.RunId && message.Role == MessageRole.Assistant)
            {
                mine.Add(message);
            }
            else if (mine.Count > 0)
            {
                break;
            }
        }

        foreach (var message in Enumerable.Reverse(mine))
        {
            var text = ClassicMapping.ToJobMessage(message).Text;
            var logged = writer.LoggedChars(run.RunId, message.Id);
            if (text.Length > logged)
            {
                writer.Add(run.RunId, message.Id, text[logged..], null);
            }
        }
    }

    /// <summary>The thread's newest run when it carries <paramref name="idempotencyKey"/>: the run an earlier attempt started.</summary>
    async Task<RunState?> FindRunAsync(string threadId, string idempotencyKey, CancellationToken cancellationToken)
    {
        await foreach (var latest in client.GetRunsAsync(
            threadId, new RunCollectionOptions { Order = RunCollectionOrder.Descending, PageSizeLimit = 1 }, cancellationToken))
        {
            return latest.Metadata.TryGetValue(IdempotencyMetadataKey, out var key) && key == idempotencyKey
                ? ClassicMapping.ToRunState(latest, null)
                : null;
        }

        return null;
    }

    /// <summary>
    /// Follows a streamed run call for up to <paramref name="window"/>; null when the service refused the stream or it
    /// broke before the run appeared (the caller then takes the plain path).
    /// </summary>
    static async Task<RunState?> StreamAsync(Func<CancellationToken, Task<AsyncStreamingResult<StreamingUpdate>>> open, TimeSpan window, CancellationToken cancellationToken)
    {
        try
        {
            var followed = await RunStream.FollowAsync(ct => States(open, ct), window, null, cancellationToken);
            return followed.Last;
        }
        catch (Exception ex) when (RunStream.IsUnsupported(ex) || RunStream.IsBreak(ex))
        {
            return null;
        }
    }

    /// <summary>The run as each <c>thread.run.*</c> event shows it (a <c>requires_action</c> event carries the calls).</summary>
    static async IAsyncEnumerable<(RunState, long?)> States(
        Func<CancellationToken, Task<AsyncStreamingResult<StreamingUpdate>>> open, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var updates = await open(cancellationToken);
        var deltas = Deltas.DeltaWriter.Current;
        string? runId = null;
        await foreach (var update in updates.WithCancellation(cancellationToken))
        {
            switch (update)
            {
                case RequiredActionUpdate action:
                    yield return (ClassicMapping.ToRunState(action.GetThreadRun(), null), null);
                    break;
                case RunUpdate run:
                    runId = run.Value.Id;
                    yield return (ClassicMapping.ToRunState(run.Value, null), null);
                    break;
                case MessageContentUpdate { Text: { Length: > 0 } text } content when deltas is not null && runId is not null:
                    // The words as they are written, for watchers (thread.message.delta).
                    deltas.Add(runId, content.MessageId, text, null);
                    break;
            }
        }
    }

    async Task AddUserMessageAsync(string threadId, string text, string key, CancellationToken cancellationToken)
    {
        await foreach (var recent in client.GetMessagesAsync(
            threadId, new MessageCollectionOptions { Order = MessageCollectionOrder.Descending, PageSizeLimit = 10 }, cancellationToken))
        {
            if (recent.Metadata.TryGetValue(IdempotencyMetadataKey, out var existing) && existing == key)
            {
                return;
            }
        }

        var options = new MessageCreationOptions();
        options.Metadata[IdempotencyMetadataKey] = key;
        await client.CreateMessageAsync(threadId, MessageRole.User, [MessageContent.FromText(text)], options, cancellationToken);
    }

    /// <inheritdoc />
    public Task<RunState> GetRunAsync(RunRef run, CancellationToken cancellationToken) =>
        WithUsageSoFarAsync(ServiceCall.RunAsync("get run", async () =>
        {
            ArgumentNullException.ThrowIfNull(run);
            var result = await client.GetRunAsync(run.ThreadId, run.RunId, cancellationToken);
            return ClassicMapping.ToRunState(result);
        }), cancellationToken);

    /// <inheritdoc />
    /// <remarks>The run keeps its id, and the service refuses a second submission for the same step, so no key is
    /// needed. A streamed submission that is refused, or breaks before the run appears, is followed by a read of the
    /// run: outputs the service took are not sent again.</remarks>
    public Task<RunState> SubmitToolOutputsAsync(AgentRef agent, RunRef run, IReadOnlyList<ToolOutput> outputs, string idempotencyKey, TimeSpan streamWindow, CancellationToken cancellationToken) =>
        WithUsageSoFarAsync(ServiceCall.RunAsync("submit tool outputs", async () =>
        {
            ArgumentNullException.ThrowIfNull(run);
            ArgumentNullException.ThrowIfNull(outputs);
            var sdkOutputs = outputs.Select(o => new OpenAI.Assistants.ToolOutput(o.ToolCallId, o.Output)).ToList();
            if (streamWindow > TimeSpan.Zero)
            {
                if (await StreamAsync(ct => client.SubmitToolOutputsToRunStreamingAsync(run.ThreadId, run.RunId, sdkOutputs, ct), streamWindow, cancellationToken) is { } streamed)
                {
                    return streamed;
                }

                var current = ClassicMapping.ToRunState(await client.GetRunAsync(run.ThreadId, run.RunId, cancellationToken));
                var pending = outputs.Select(o => o.ToolCallId).ToHashSet(StringComparer.Ordinal);
                if (current.Status != AgentRunStatus.RequiresAction || !current.ToolCalls.Any(c => pending.Contains(c.Id)))
                {
                    await ContinueDeltaLogAsync(current, cancellationToken);
                    return current; // the stream's submission was taken
                }
            }

            return ClassicMapping.ToRunState(await client.SubmitToolOutputsToRunAsync(run.ThreadId, run.RunId, sdkOutputs, cancellationToken));
        }), cancellationToken);

    /// <inheritdoc />
    /// <remarks>A run waiting for tool outputs can be cancelled in this protocol, which closes its calls; a run
    /// that already ended cannot (the service answers 400), and is read and returned as it is.</remarks>
    public Task<RunState> CancelRunAsync(RunState run, string reason, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync("cancel run", async () =>
        {
            ArgumentNullException.ThrowIfNull(run);
            if (run.IsTerminal)
            {
                return run;
            }

            try
            {
                var result = await client.CancelRunAsync(run.ThreadId, run.RunId, cancellationToken);
                return ClassicMapping.ToRunState(result);
            }
            catch (ClientResultException ex) when (ex.Status is 400 or 409)
            {
                var current = ClassicMapping.ToRunState(await client.GetRunAsync(run.ThreadId, run.RunId, cancellationToken));
                if (!current.IsTerminal)
                {
                    throw;
                }

                return current;
            }
        });

    /// <inheritdoc />
    /// <remarks>A start is found by its key on the thread's newest run; a submission keeps the run's id, so it is
    /// <paramref name="previous"/>.</remarks>
    public async Task<RunState?> CancelStartedRunAsync(string threadId, string idempotencyKey, RunRef? previous, string reason, CancellationToken cancellationToken)
    {
        var run = await ServiceCall.RunAsync("find run", async () =>
            await FindRunAsync(threadId, idempotencyKey, cancellationToken)
            ?? (previous is null ? null : ClassicMapping.ToRunState(await client.GetRunAsync(previous.ThreadId, previous.RunId, cancellationToken))));
        return run is null ? null : await CancelRunAsync(run, reason, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Tool calls belong to runs in this protocol; a run that ended, however it ended, holds none open.</remarks>
    public Task<int> CloseOpenToolCallsAsync(string threadId, string reason, CancellationToken cancellationToken) => Task.FromResult(0);

    /// <inheritdoc />
    public Task<IReadOnlyList<JobMessage>> ListMessagesAsync(string threadId, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync<IReadOnlyList<JobMessage>>("list messages", async () =>
        {
            var messages = new List<JobMessage>();
            await foreach (var message in client.GetMessagesAsync(
                threadId, new MessageCollectionOptions { Order = MessageCollectionOrder.Ascending, PageSizeLimit = 100 }, cancellationToken))
            {
                messages.Add(ClassicMapping.ToJobMessage(message));
            }

            return messages;
        });

    /// <inheritdoc />
    public Task<IReadOnlyList<JobRunStep>> ListRunStepsAsync(string threadId, IReadOnlyList<string> runIds, CancellationToken cancellationToken) =>
        ServiceCall.RunAsync<IReadOnlyList<JobRunStep>>("list run steps", async () =>
        {
            ArgumentNullException.ThrowIfNull(runIds);
            var steps = new List<JobRunStep>();
            foreach (var runId in runIds)
            {
                await foreach (var step in client.GetRunStepsAsync(
                    threadId, runId, new RunStepCollectionOptions { Order = RunStepCollectionOrder.Ascending, PageSizeLimit = 100 }, cancellationToken))
                {
                    steps.Add(ClassicMapping.ToJobRunStep(step));
                }
            }

            return steps;
        });
}
