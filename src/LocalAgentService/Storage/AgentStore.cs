using System.Collections.Concurrent;
using LocalAgentService.Engine;

namespace LocalAgentService.Storage;

/// <summary>
/// The in-memory store: assistants, threads, messages, runs and steps, with the protocol's rules
/// (one active run per thread, no messages while a run is active). Thread-scoped data is guarded by
/// the thread's lock; projections passed in by callers run under that lock so they see a consistent object.
/// </summary>
internal sealed partial class AgentStore(TimeProvider time, SimulationOptions simulation, RunWorkQueue work)
{
    /// <summary>The simulation's settings (streams read their pace here).</summary>
    public SimulationOptions Simulation => simulation;

    private readonly ConcurrentDictionary<string, AssistantRecord> assistants = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ThreadRecord> threads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RunRecord> activeRuns = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> settledAt = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> settledOrder = new();
    private long seq;
    private long assistantsCreated, assistantsDeleted, threadsCreated, threadsDeleted, runsCreated, streamsOpened;

    /// <summary>How many run/response ids <see cref="TryGetSettledAt"/> remembers (oldest forgotten first).</summary>
    public const int MaxSettledEntries = 100_000;

    public long NowSeconds => time.GetUtcNow().ToUnixTimeSeconds();

    public long NowMs => time.GetUtcNow().ToUnixTimeMilliseconds();

    private long NextSeq() => Interlocked.Increment(ref seq);

    // ---- assistants ----

    public T CreateAssistant<T>(AssistantSpec spec, Func<AssistantRecord, T> project)
    {
        var record = new AssistantRecord
        {
            Id = Ids.New(Ids.Assistant),
            CreatedAt = NowSeconds,
            Seq = NextSeq(),
            Model = spec.Model ?? throw ServiceException.Invalid("Missing required parameter: 'model'.", "model", "missing_required_parameter"),
        };
        ApplyAssistant(record, spec);
        assistants[record.Id] = record;
        Interlocked.Increment(ref assistantsCreated);
        lock (record)
        {
            return project(record);
        }
    }

    public T GetAssistant<T>(string id, Func<AssistantRecord, T> project)
    {
        var record = FindAssistant(id);
        lock (record)
        {
            return project(record);
        }
    }

    public T ModifyAssistant<T>(string id, AssistantSpec spec, Func<AssistantRecord, T> project)
    {
        var record = FindAssistant(id);
        lock (record)
        {
            ApplyAssistant(record, spec);
            return project(record);
        }
    }

    public bool DeleteAssistant(string id)
    {
        if (!assistants.TryRemove(id, out _))
        {
            throw ServiceException.NotFound("assistant", id);
        }

        Interlocked.Increment(ref assistantsDeleted);
        return true;
    }

    public Page<T> ListAssistants<T>(PageQuery query, Func<AssistantRecord, T> project)
    {
        var all = assistants.Values.OrderBy(a => a.Seq).ToList();
        return Paging.Apply(all, a => a.Id, query, a =>
        {
            lock (a)
            {
                return project(a);
            }
        });
    }

    private AssistantRecord FindAssistant(string id) =>
        assistants.TryGetValue(id, out var record) ? record : throw ServiceException.NotFound("assistant", id);

    private static void ApplyAssistant(AssistantRecord record, AssistantSpec spec)
    {
        record.Model = spec.Model ?? record.Model;
        record.Name = spec.Name ?? record.Name;
        record.Description = spec.Description ?? record.Description;
        record.Instructions = spec.Instructions ?? record.Instructions;
        record.Tools = spec.Tools ?? record.Tools;
        record.ToolResources = spec.ToolResources ?? record.ToolResources;
        record.Temperature = spec.Temperature ?? record.Temperature;
        record.TopP = spec.TopP ?? record.TopP;
        record.ResponseFormat = spec.ResponseFormat ?? record.ResponseFormat;
        record.Metadata = spec.Metadata ?? record.Metadata;
    }

    // ---- threads ----

    public ThreadRecord CreateThread(Dictionary<string, string>? metadata, System.Text.Json.JsonElement? toolResources, IReadOnlyList<MessageSpec> messages)
    {
        var thread = new ThreadRecord
        {
            Id = Ids.New(Ids.Thread),
            CreatedAt = NowSeconds,
            Seq = NextSeq(),
            Metadata = metadata ?? [],
            ToolResources = toolResources,
        };
        foreach (var message in messages)
        {
            thread.Messages.Add(NewMessage(thread, message, null, null));
        }

        threads[thread.Id] = thread;
        Interlocked.Increment(ref threadsCreated);
        return thread;
    }

    public T CreateThread<T>(Dictionary<string, string>? metadata, System.Text.Json.JsonElement? toolResources, IReadOnlyList<MessageSpec> messages, Func<ThreadRecord, T> project)
    {
        var thread = CreateThread(metadata, toolResources, messages);
        lock (thread.Sync)
        {
            return project(thread);
        }
    }

    public T GetThread<T>(string id, Func<ThreadRecord, T> project) => WithThread(id, project);

    public T ModifyThread<T>(string id, Dictionary<string, string>? metadata, System.Text.Json.JsonElement? toolResources, Func<ThreadRecord, T> project) =>
        WithThread(id, thread =>
        {
            thread.Metadata = metadata ?? thread.Metadata;
            thread.ToolResources = toolResources ?? thread.ToolResources;
            return project(thread);
        });

    public void DeleteThread(string id) => RemoveThread(threads, id, "thread", ref threadsDeleted);

    private T WithThread<T>(string id, Func<ThreadRecord, T> action) => WithThread(threads, id, "thread", action);

    /// <summary>Runs <paramref name="action"/> under the thread's lock; a missing or deleted thread (or conversation) is a 404.</summary>
    private static T WithThread<T>(ConcurrentDictionary<string, ThreadRecord> map, string id, string kind, Func<ThreadRecord, T> action)
    {
        var thread = map.TryGetValue(id, out var t) ? t : throw ServiceException.NotFound(kind, id);
        lock (thread.Sync)
        {
            return thread.Deleted ? throw ServiceException.NotFound(kind, id) : action(thread);
        }
    }

    /// <summary>Removes a thread (or conversation); an active run on it dies with it, so the engine's work on it stops.</summary>
    private void RemoveThread(ConcurrentDictionary<string, ThreadRecord> map, string id, string kind, ref long deletedCounter)
    {
        if (!map.TryRemove(id, out var thread))
        {
            throw ServiceException.NotFound(kind, id);
        }

        Interlocked.Increment(ref deletedCounter);
        lock (thread.Sync)
        {
            thread.Deleted = true;
            if (thread.ActiveRun is { } run)
            {
                Finish(run, RunStatus.Cancelled);
            }
        }
    }

    // ---- messages ----

    public T AddMessage<T>(string threadId, MessageSpec spec, Func<MessageRecord, T> project) =>
        WithThread(threadId, thread =>
        {
            if (thread.ActiveRun is { } active)
            {
                throw ServiceException.Invalid($"Can't add messages to {thread.Id} while a run {active.Id} is active.");
            }

            var message = NewMessage(thread, spec, null, null);
            thread.Messages.Add(message);
            return project(message);
        });

    public T GetMessage<T>(string threadId, string messageId, Func<MessageRecord, T> project) =>
        WithThread(threadId, thread => project(
            thread.Messages.Find(m => m.Id == messageId) ?? throw ServiceException.NotFound("message", messageId)));

    public Page<T> ListMessages<T>(string threadId, string? runId, PageQuery query, Func<MessageRecord, T> project) =>
        WithThread(threadId, thread =>
        {
            IReadOnlyList<MessageRecord> items = runId is null ? thread.Messages : thread.Messages.FindAll(m => m.RunId == runId);
            return Paging.Apply(items, m => m.Id, query, project);
        });

    private MessageRecord NewMessage(ThreadRecord thread, MessageSpec spec, string? assistantId, string? runId) => new()
    {
        Id = Ids.New(Ids.Message),
        CreatedAt = NowSeconds,
        Seq = NextSeq(),
        ThreadId = thread.Id,
        Role = spec.Role,
        Content = spec.Content,
        AssistantId = assistantId,
        RunId = runId,
        Attachments = spec.Attachments,
        Metadata = spec.Metadata,
    };

    // ---- settle times and streams ----

    /// <summary>
    /// The precise moment the engine last moved the run or response to a terminal status or <c>requires_action</c>
    /// (kept after the run or its thread is deleted, for the last <see cref="MaxSettledEntries"/> ids).
    /// </summary>
    public bool TryGetSettledAt(string runOrResponseId, out DateTimeOffset at) => settledAt.TryGetValue(runOrResponseId, out at);

    /// <summary>Counts one request answered as an event stream.</summary>
    public void CountStream() => Interlocked.Increment(ref streamsOpened);

    /// <summary>Records (lock held) that the run settled now: terminal or waiting for tool outputs.</summary>
    private void MarkSettled(RunRecord run)
    {
        var now = time.GetUtcNow();
        if (settledAt.TryAdd(run.Id, now))
        {
            settledOrder.Enqueue(run.Id);
            while (settledOrder.Count > MaxSettledEntries && settledOrder.TryDequeue(out var oldest))
            {
                settledAt.TryRemove(oldest, out _);
            }
        }
        else
        {
            settledAt[run.Id] = now;
        }
    }

    // ---- stats ----

    public AgentServiceStats GetStats()
    {
        var byStatus = RunStatus.All.ToDictionary(s => s, _ => 0, StringComparer.Ordinal);
        foreach (var thread in threads.Values)
        {
            lock (thread.Sync)
            {
                foreach (var run in thread.Runs)
                {
                    byStatus[run.Status]++;
                }
            }
        }

        var responsesByStatus = ResponsesByStatus(out int activeResponses);
        int agentNames;
        long versionsCreated, namedDeleted;
        lock (agentsSync)
        {
            agentNames = namedAgents.Count;
            versionsCreated = agentVersionsCreated;
            namedDeleted = agentsDeleted;
        }

        return new AgentServiceStats(
            assistants.Count,
            threads.Count,
            byStatus,
            activeRuns.Values.Count(r => r.Response is null),
            Interlocked.Read(ref assistantsCreated),
            Interlocked.Read(ref assistantsDeleted),
            Interlocked.Read(ref threadsCreated),
            Interlocked.Read(ref threadsDeleted),
            Interlocked.Read(ref runsCreated))
        {
            Agents = assistants.Count + agentNames,
            AgentNames = agentNames,
            Conversations = conversations.Count,
            Responses = responsesByStatus,
            ActiveResponses = activeResponses,
            AgentVersionsCreated = versionsCreated,
            AgentsDeleted = namedDeleted,
            ConversationsCreated = Interlocked.Read(ref conversationsCreated),
            ConversationsDeleted = Interlocked.Read(ref conversationsDeleted),
            ResponsesCreated = Interlocked.Read(ref responsesCreated),
            StreamsOpened = Interlocked.Read(ref streamsOpened),
        };
    }
}
