using System.Reflection;
using System.Text.Json.Serialization.Metadata;
using AgentJobs.Contracts;

namespace AgentJobs.Batches;

/// <summary>
/// <c>POST /api/agent-batches</c>: many prompts, each run as its own agent job with the same settings.
/// Every field but <see cref="Prompts"/> is optional. On the wire the shared job settings sit flat beside
/// <c>prompts</c> and <c>maxParallel</c> (<c>{"prompts": [...], "model": "...", "maxParallel": 4}</c>); in code they
/// are one <see cref="Template"/> job request, so a job field is declared once (<see cref="FlattenTemplate"/> maps
/// the two).
/// </summary>
public sealed record AgentBatchRequest
{
    /// <summary>1 to <see cref="AgentBatchLimits.MaxPrompts"/> prompts; item <c>n</c> is prompt <c>n</c>.</summary>
    public IReadOnlyList<string>? Prompts { get; init; }

    /// <summary>Items running at once, 1–<see cref="AgentBatchLimits.MaxParallelLimit"/> (default <see cref="AgentBatchLimits.DefaultMaxParallel"/>).</summary>
    public int? MaxParallel { get; init; }

    /// <summary>
    /// The settings every item shares, meaning what they mean on a job request; its prompt is unused (empty). A
    /// <c>threadId</c> needs <see cref="MaxParallel"/> 1 (a thread runs one run at a time); approvals are decided per
    /// item, on its job id. Not a JSON field of its own: its fields are the batch's (see <see cref="FlattenTemplate"/>).
    /// </summary>
    public AgentJobRequest Template { get; init; } = new("");

    /// <summary>The job request every item shares, with <paramref name="prompt"/> as its prompt.</summary>
    public AgentJobRequest Item(string prompt) => Template with { Prompt = prompt };

    /// <summary>
    /// A JSON contract modifier that gives <see cref="AgentBatchRequest"/> the template's fields (all but
    /// <c>prompt</c>) as its own, in the wire order batches have always had (<c>maxParallel</c> after
    /// <c>cancelGraceSeconds</c>), so the body stays flat and the strict reader still knows every field's type.
    /// </summary>
    public static void FlattenTemplate(JsonTypeInfo typeInfo)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        if (typeInfo.Type != typeof(AgentBatchRequest))
        {
            return;
        }

        // Removed rather than [JsonIgnore]d: a body that sends "template" must stay an unknown field, as it always was.
        typeInfo.Properties.Remove(typeInfo.Properties.Single(p => p.AttributeProvider is PropertyInfo { Name: nameof(Template) }));
        var order = 0;
        var maxParallel = typeInfo.Properties.Single(p => p.AttributeProvider is PropertyInfo { Name: nameof(MaxParallel) });
        foreach (var job in typeInfo.Options.GetTypeInfo(typeof(AgentJobRequest)).Properties)
        {
            if (job.AttributeProvider is not PropertyInfo { Name: var name } clr || name == nameof(AgentJobRequest.Prompt))
            {
                continue;
            }

            var flat = typeInfo.CreateJsonPropertyInfo(job.PropertyType, job.Name);
            flat.Get = batch => clr.GetValue(((AgentBatchRequest)batch).Template);

            // The template is this request's own fresh instance while it is being read, so its init-only field is set in place.
            flat.Set = (batch, value) => clr.SetValue(((AgentBatchRequest)batch).Template, value);
            flat.Order = order += 2;
            typeInfo.Properties.Add(flat);
            if (name == nameof(AgentJobRequest.CancelGraceSeconds))
            {
                maxParallel.Order = order + 1;
            }
        }
    }
}

/// <summary>Limits of the batch API.</summary>
public static class AgentBatchLimits
{
    /// <summary>Most prompts in one batch.</summary>
    public const int MaxPrompts = 1_000;

    /// <summary>Default items running at once.</summary>
    public const int DefaultMaxParallel = 10;

    /// <summary>Largest <c>maxParallel</c>.</summary>
    public const int MaxParallelLimit = 100;

    /// <summary>Longest batch request body, in bytes (8 MiB).</summary>
    public const int MaxBodyBytes = 8 * 1024 * 1024;

    /// <summary>Default page size of per-item results.</summary>
    public const int DefaultPageSize = 50;

    /// <summary>Largest page size of per-item results.</summary>
    public const int MaxPageSize = 200;
}

/// <summary>
/// The batch orchestration's input, also the state it carries into its next generation (continue-as-new every
/// <see cref="AgentBatchOrchestrator.ItemsPerGeneration"/> items).
/// </summary>
/// <param name="Template">The shared job request, settled at the edge (<see cref="Application.AgentJobPolicy.Settle"/>); its prompt is empty.</param>
/// <param name="Prompts">Every item's prompt.</param>
/// <param name="MaxParallel">Items running at once.</param>
/// <param name="NextIndex">The first item not started yet.</param>
/// <param name="Outcomes">Finished items by outcome (<see cref="JobOutcome"/> names, plus <c>OrchestrationFailed</c>).</param>
/// <param name="CancelReason">Set once the batch was asked to cancel: no item starts after that.</param>
/// <param name="Generation">The generation (0 first); each continue-as-new adds one.</param>
public sealed record AgentBatchWork(
    AgentJobSpec Template,
    IReadOnlyList<string> Prompts,
    int MaxParallel,
    int NextIndex = 0,
    IReadOnlyDictionary<string, int>? Outcomes = null,
    string? CancelReason = null,
    int Generation = 0);

/// <summary>A batch's progress: its custom status while it runs and its output when it is done.</summary>
/// <param name="Total">Items in the batch.</param>
/// <param name="Started">Items started so far.</param>
/// <param name="Finished">Items that ended (any outcome).</param>
/// <param name="Running">Indexes of the items running now.</param>
/// <param name="Outcomes">Finished items by outcome: <c>Completed</c>, <c>Failed</c>, <c>Cancelled</c>, <c>Expired</c>,
/// <c>Incomplete</c>, <c>TimedOut</c>, and <c>OrchestrationFailed</c> for an item whose orchestration itself failed.</param>
/// <param name="NotStarted">Items that will never start because the batch was cancelled (0 otherwise).</param>
/// <param name="CancelReason">Why the batch was cancelled, if it was.</param>
/// <param name="Generation">The orchestration's generation.</param>
/// <param name="Done">Whether every item has ended (or will never start).</param>
public sealed record AgentBatchProgress(
    int Total,
    int Started,
    int Finished,
    IReadOnlyList<int> Running,
    IReadOnlyDictionary<string, int> Outcomes,
    int NotStarted,
    string? CancelReason,
    int Generation,
    bool Done);

/// <summary>The links of a batch.</summary>
/// <param name="Id">The batch id.</param>
/// <param name="StatusQueryGetUri">GET for counts, progress and per-item results.</param>
/// <param name="CancelPostUri">POST to cancel every running item and start no more.</param>
public sealed record AgentBatchLinks(string Id, string StatusQueryGetUri, string CancelPostUri);

/// <summary>One item of a batch in <c>GET /api/agent-batches/{id}</c>.</summary>
/// <param name="Index">Its index in <c>prompts</c>.</param>
/// <param name="Id">Its agent job id (<c>&lt;batchId&gt;:item:&lt;index&gt;</c>), readable at <c>GET /api/agent-jobs/{id}</c>.</param>
/// <param name="RuntimeStatus">The job's durable runtime status, or <c>NotStarted</c>.</param>
/// <param name="Outcome">How the job ended, once it did.</param>
/// <param name="Reply">The agent's reply, once completed.</param>
/// <param name="Failure">Why it did not complete, if so.</param>
/// <param name="AgentDeleted">Whether its agent was deleted (null until it ended).</param>
/// <param name="ToolCalls">Tool calls it answered.</param>
/// <param name="TotalTokens">Tokens its run used, if the service said.</param>
/// <param name="StatusQueryGetUri">The job's own status URL.</param>
public sealed record AgentBatchItem(
    int Index,
    string Id,
    string RuntimeStatus,
    JobOutcome? Outcome,
    string? Reply,
    JobFailure? Failure,
    bool? AgentDeleted,
    int ToolCalls,
    long? TotalTokens,
    string StatusQueryGetUri);

/// <summary>A page of per-item results.</summary>
/// <param name="Page">The page number, from 1.</param>
/// <param name="PageSize">Items per page.</param>
/// <param name="TotalPages">Pages in all.</param>
/// <param name="Items">The items of this page.</param>
/// <param name="NextPageUri">The next page, or null on the last.</param>
public sealed record AgentBatchItemPage(int Page, int PageSize, int TotalPages, IReadOnlyList<AgentBatchItem> Items, string? NextPageUri);

/// <summary><c>GET /api/agent-batches/{id}</c>.</summary>
/// <param name="Id">The batch id.</param>
/// <param name="RuntimeStatus">The batch orchestration's runtime status (Running, Completed …).</param>
/// <param name="CreatedAt">When it was scheduled.</param>
/// <param name="LastUpdatedAt">When it last changed.</param>
/// <param name="Total">Items in all.</param>
/// <param name="Started">Items started.</param>
/// <param name="Finished">Items ended.</param>
/// <param name="Running">Items running now.</param>
/// <param name="NotStarted">Items that will never start (the batch was cancelled).</param>
/// <param name="PercentDone">Finished (and never-to-start) items as a share of the total, 0–100.</param>
/// <param name="Outcomes">Finished items by outcome.</param>
/// <param name="CancelReason">Why it was cancelled, if it was.</param>
/// <param name="Results">The requested page of per-item results.</param>
/// <param name="Links">Where to follow it.</param>
public sealed record AgentBatchStatus(
    string Id,
    string RuntimeStatus,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    int Total,
    int Started,
    int Finished,
    int Running,
    int NotStarted,
    double PercentDone,
    IReadOnlyDictionary<string, int> Outcomes,
    string? CancelReason,
    AgentBatchItemPage Results,
    AgentBatchLinks Links);

/// <summary>Outcome names a batch counts besides <see cref="JobOutcome"/>.</summary>
public static class AgentBatchOutcomes
{
    /// <summary>An item whose orchestration itself failed (a bug or a crash, not a job outcome).</summary>
    public const string OrchestrationFailed = "OrchestrationFailed";
}


