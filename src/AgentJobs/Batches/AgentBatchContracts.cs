using AgentJobs.Contracts;

namespace AgentJobs.Batches;

/// <summary>
/// <c>POST /api/agent-batches</c>: many prompts, each run as its own agent job with the same settings.
/// Every field but <see cref="Prompts"/> is optional and means what it means on a job request.
/// </summary>
/// <param name="Prompts">1 to <see cref="AgentBatchLimits.MaxPrompts"/> prompts; item <c>n</c> is prompt <c>n</c>.</param>
/// <param name="Instructions">The agents' instructions.</param>
/// <param name="Model">The model deployment.</param>
/// <param name="AgentName">The agents' display name.</param>
/// <param name="Tools">Tools every item's agent may call.</param>
/// <param name="ThreadId">A thread every item continues; only with <see cref="MaxParallel"/> 1 (a thread runs one run at a time).</param>
/// <param name="DeleteThread">Delete each item's thread at the end.</param>
/// <param name="MaxDurationSeconds">Each item's deadline, in seconds from its own start.</param>
/// <param name="Polling">How each item's run is polled.</param>
/// <param name="CancelGraceSeconds">Each item's grace period once stopped, in seconds.</param>
/// <param name="MaxParallel">Items running at once, 1–<see cref="AgentBatchLimits.MaxParallelLimit"/> (default <see cref="AgentBatchLimits.DefaultMaxParallel"/>).</param>
/// <param name="MaxToolRounds">Each item's tool-round budget.</param>
/// <param name="MaxTotalTokens">Each item's token budget.</param>
/// <param name="Approval">Tool calls of every item that wait for a person's approval (decided per item, on its job id).</param>
public sealed record AgentBatchRequest(
    IReadOnlyList<string>? Prompts,
    string? Instructions = null,
    string? Model = null,
    string? AgentName = null,
    IReadOnlyList<string>? Tools = null,
    string? ThreadId = null,
    bool DeleteThread = false,
    int? MaxDurationSeconds = null,
    PollingSettings? Polling = null,
    int? CancelGraceSeconds = null,
    int? MaxParallel = null,
    int? MaxToolRounds = null,
    long? MaxTotalTokens = null,
    ApprovalPolicy? Approval = null)
{
    /// <summary>The job request every item shares, with <paramref name="prompt"/> as its prompt.</summary>
    public AgentJobRequest Item(string prompt) =>
        new(prompt, Instructions, Model, AgentName, Tools, ThreadId, DeleteThread, MaxDurationSeconds, Polling, CancelGraceSeconds, MaxToolRounds, MaxTotalTokens, Approval);
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


