using System.Globalization;
using System.Text;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Http;

/// <summary>
/// <c>GET /api/agent-jobs?status=Running,Completed&amp;createdFrom=…&amp;createdTo=…&amp;top=50&amp;continuationToken=…</c>:
/// a page of agent jobs, newest first. Only <see cref="AgentJobOrchestrator"/> instances are listed (not their run
/// pollers). Backends list instances in their own order (Azure Storage by partition), so each page reads the
/// metadata of the matching instances created before the cursor (no inputs), sorts them, and then reads inputs and
/// outputs for the page only. The continuation token is a keyset cursor (created time and id of the page's last job),
/// so pages stay stable while new jobs arrive.
/// </summary>
/// <param name="policy">What the jobs client is made with.</param>
/// <param name="logger">Logs each page.</param>
public sealed class AgentJobListApi(AgentJobPolicy policy, Microsoft.Extensions.Logging.ILogger<AgentJobListApi> logger)
{
    /// <summary>Default page size.</summary>
    public const int DefaultTop = 50;

    /// <summary>Largest page size.</summary>
    public const int MaxTop = 200;

    /// <summary>Lists jobs.</summary>
    public Task<IResult> ListAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken = default) =>
        ListAsync(request, client, jobs, cancellationToken);

    /// <summary>
    /// Lists sessions (<c>GET /api/agent-sessions</c>, same filters and paging), dated by when each session started.
    /// Each turn continues a session as new, which gives the instance a new created time, so the start is read from
    /// the session's status: every session (of the asked runtime statuses) is read with its input and status, and the
    /// dates are filtered here (sessions are few next to jobs).
    /// </summary>
    public Task<IResult> ListSessionsAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken = default) =>
        ListAsync(request, client, SessionsListing, cancellationToken);

    /// <summary>
    /// What is listed: the orchestration, the typed client's listing and full read of one instance (both over the
    /// request's durable client), when each instance was created, its summary and the page.
    /// </summary>
    sealed record Listing<TSummary>(
        string OrchestratorName,
        Func<DurableTaskClient, OrchestrationQuery, CancellationToken, IAsyncEnumerable<OrchestrationMetadata>> List,
        Func<DurableTaskClient, string, CancellationToken, Task<OrchestrationMetadata?>> Read,
        string Noun,
        bool DatedByInput,
        Func<OrchestrationMetadata, DateTimeOffset> CreatedAt,
        Func<OrchestrationMetadata, DateTimeOffset, TSummary> Summarize,
        Func<IReadOnlyList<TSummary>, string?, object> PageOf);

    readonly Listing<AgentJobSummary> jobs = new(
        AgentJobOrchestrator.Name,
        (client, query, ct) => new AgentJobsClient(client, policy).ListAsync(query, ct),
        (client, id, ct) => new AgentJobsClient(client, policy).GetAsync(id, getInputsAndOutputs: true, ct),
        "agent job", DatedByInput: false, i => i.CreatedAt, Summarize, (page, next) => new AgentJobPage(page, next));

    static readonly Listing<AgentSessionSummary> SessionsListing = new(
        Sessions.AgentSessionOrchestrator.Name,
        (client, query, ct) => new AgentSessionsClient(client).ListAsync(query, ct),
        (client, id, ct) => new AgentSessionsClient(client).GetAsync(id, getInputsAndOutputs: true, ct),
        "agent session", DatedByInput: true, SessionStartedAt, SummarizeSession, (page, next) => new AgentSessionPage(page, next));

    /// <summary>
    /// When a session started: the time its first episode recorded, shown in its status and carried in its state;
    /// its instance's created time while it has not run yet.
    /// </summary>
    internal static DateTimeOffset SessionStartedAt(OrchestrationMetadata instance) =>
        (StoredJson.Deserialize<Sessions.SessionProgress>(instance.SerializedCustomStatus)?.StartedAt
            ?? StoredJson.Deserialize<Sessions.SessionState>(instance.SerializedInput)?.StartedAt) is { } started
            ? new DateTimeOffset(DateTime.SpecifyKind(started, DateTimeKind.Utc))
            : instance.CreatedAt;

    async Task<IResult> ListAsync<TSummary>(HttpRequest request, DurableTaskClient client, Listing<TSummary> listing, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var query = request.Query;

        List<OrchestrationRuntimeStatus>? statuses = null;
        if (query["status"].ToString() is { Length: > 0 } statusText)
        {
            statuses = [];
            foreach (var word in statusText.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!Enum.TryParse<OrchestrationRuntimeStatus>(word, ignoreCase: true, out var status) || int.TryParse(word, out _))
                {
                    return Bad(listing.Noun, "status", $"'{word}' is not a runtime status. Use: {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}.");
                }

                statuses.Add(status);
            }
        }

        if (!TryDate(query["createdFrom"], out var from))
        {
            return Bad(listing.Noun, "createdFrom", "'createdFrom' must be an ISO 8601 date and time, e.g. 2025-01-31T12:00:00Z.");
        }

        if (!TryDate(query["createdTo"], out var to))
        {
            return Bad(listing.Noun, "createdTo", "'createdTo' must be an ISO 8601 date and time, e.g. 2025-01-31T12:00:00Z.");
        }

        if (from is not null && to is not null && from > to)
        {
            return Bad(listing.Noun, "createdTo", "'createdTo' must not be before 'createdFrom'.");
        }

        if (!ApiResults.TryQueryInt(request, "top", DefaultTop, 1, MaxTop, out var top))
        {
            return Bad(listing.Noun, "top", $"'top' must be a whole number from 1 to {MaxTop}.");
        }

        (DateTimeOffset CreatedAt, string Id)? cursor = null;
        if (query["continuationToken"].ToString() is { Length: > 0 } token)
        {
            if (ReadToken(token) is not { } parsed)
            {
                return Bad(listing.Noun, "continuationToken", "'continuationToken' is not a token this API returned.");
            }

            cursor = parsed;
        }

        // The backend's query is bounded by date only where its created time is the one listed (a session's start is
        // read from its state, and its instance's created time is its latest generation's).
        var lower = listing.DatedByInput ? null : from;
        var upper = listing.DatedByInput ? null : cursor is { } c && (to is null || c.CreatedAt < to) ? c.CreatedAt.AddSeconds(1) : to;
        var filter = new OrchestrationQuery(lower, upper, statuses, PageSize: 1000, FetchInputsAndOutputs: listing.DatedByInput);
        var matching = new List<(OrchestrationMetadata Instance, DateTimeOffset CreatedAt)>();
        await foreach (var instance in listing.List(client, filter, cancellationToken).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // Backends differ in how exactly they apply filters; apply them again here.
            var createdAt = listing.CreatedAt(instance);
            if (instance.Name == listing.OrchestratorName
                && (statuses is null || statuses.Contains(instance.RuntimeStatus))
                && (from is null || createdAt >= from)
                && (to is null || createdAt <= to)
                && (cursor is null || Before(createdAt, instance.InstanceId, cursor.Value)))
            {
                matching.Add((instance, createdAt));
            }
        }

        var page = matching.OrderByDescending(i => i.CreatedAt).ThenByDescending(i => i.Instance.InstanceId, StringComparer.Ordinal).Take(top + 1).ToList();
        var more = page.Count > top;
        page = page.Take(top).ToList();
        var items = new List<TSummary>(page.Count);
        foreach (var (instance, createdAt) in page)
        {
            var full = await listing.Read(client, instance.InstanceId, cancellationToken).ConfigureAwait(false) ?? instance;
            items.Add(listing.Summarize(full, createdAt));
        }

        logger.InstancesListed(items.Count, matching.Count, listing.OrchestratorName);
        var next = more ? WriteToken(page[^1].CreatedAt, page[^1].Instance.InstanceId) : null;
        return Results.Json(listing.PageOf(items, next), AgentJobsApi.JsonOptions);
    }

    static AgentSessionSummary SummarizeSession(OrchestrationMetadata instance, DateTimeOffset createdAt)
    {
        var progress = StoredJson.Deserialize<Sessions.SessionProgress>(instance.SerializedCustomStatus);
        var ended = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? StoredJson.Deserialize<Sessions.AgentSessionResult>(instance.SerializedOutput) : null;
        return new AgentSessionSummary(
            instance.InstanceId,
            instance.RuntimeStatus.ToString(),
            instance.IsCompleted ? "ended" : progress?.Status ?? "starting",
            createdAt,
            instance.LastUpdatedAt,
            ended?.Turns ?? progress?.TurnsCompleted ?? 0,
            ended?.Reason);
    }

    static AgentJobSummary Summarize(OrchestrationMetadata instance, DateTimeOffset createdAt)
    {
        var request = StoredJson.Deserialize<AgentJobRequest>(instance.SerializedInput);
        var progress = StoredJson.Deserialize<JobProgress>(instance.SerializedCustomStatus);
        var result = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? StoredJson.Deserialize<AgentJobResult>(instance.SerializedOutput) : null;
        return new AgentJobSummary(
            instance.InstanceId,
            instance.RuntimeStatus.ToString(),
            progress?.Phase.ToString(),
            createdAt,
            instance.LastUpdatedAt,
            Events.JobEventProjector.Cut(request?.Prompt, Events.JobEventProjector.PromptPreviewChars),
            result?.Outcome.ToString());
    }

    static bool Before(DateTimeOffset createdAt, string instanceId, (DateTimeOffset CreatedAt, string Id) cursor) =>
        createdAt < cursor.CreatedAt
        || (createdAt == cursor.CreatedAt && string.CompareOrdinal(instanceId, cursor.Id) < 0);

    static bool TryDate(string? text, out DateTimeOffset? value)
    {
        value = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
        {
            value = parsed;
            return true;
        }

        return false;
    }

    static string WriteToken(DateTimeOffset createdAt, string id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{createdAt.UtcTicks}|{id}")))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    static (DateTimeOffset, string)? ReadToken(string token)
    {
        try
        {
            var base64 = token.Replace('-', '+').Replace('_', '/');
            base64 += new string('=', (4 - (base64.Length % 4)) % 4);
            var text = Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            var bar = text.IndexOf('|', StringComparison.Ordinal);
            return bar > 0 && long.TryParse(text.AsSpan(0, bar), NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && ticks is >= 0 and <= 3155378975999999999 && bar < text.Length - 1
                ? (new DateTimeOffset(ticks, TimeSpan.Zero), text[(bar + 1)..])
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    internal static IResult Bad(string field, string detail) => Bad("agent job", field, detail);

    static IResult Bad(string noun, string field, string detail) => ApiResults.Problem(StatusCodes.Status400BadRequest, $"Invalid {noun} query", detail, field);
}

/// <summary>A page of jobs.</summary>
/// <param name="Jobs">Newest first.</param>
/// <param name="ContinuationToken">Pass as <c>continuationToken</c> for the next page; null on the last page.</param>
public sealed record AgentJobPage(IReadOnlyList<AgentJobSummary> Jobs, string? ContinuationToken);

/// <summary>A page of sessions.</summary>
/// <param name="Sessions">Newest first.</param>
/// <param name="ContinuationToken">Pass as <c>continuationToken</c> for the next page; null on the last page.</param>
public sealed record AgentSessionPage(IReadOnlyList<AgentSessionSummary> Sessions, string? ContinuationToken);

/// <summary>One session in a list.</summary>
/// <param name="Id">The session id.</param>
/// <param name="RuntimeStatus">Durable runtime status.</param>
/// <param name="Status"><c>starting</c>, <c>checking</c>, <c>idle</c>, <c>running</c>, <c>ending</c> or <c>ended</c>.</param>
/// <param name="CreatedAt">When it (its current generation) started.</param>
/// <param name="LastUpdatedAt">When it last changed.</param>
/// <param name="Turns">Turns finished.</param>
/// <param name="EndReason">Why it ended, once it has.</param>
public sealed record AgentSessionSummary(
    string Id, string RuntimeStatus, string Status, DateTimeOffset CreatedAt, DateTimeOffset LastUpdatedAt, int Turns, string? EndReason);

/// <summary>One job in a list.</summary>
/// <param name="Id">The job id.</param>
/// <param name="RuntimeStatus">Durable runtime status.</param>
/// <param name="Phase">The current phase, when started.</param>
/// <param name="CreatedAt">When it was scheduled.</param>
/// <param name="LastUpdatedAt">When it last changed.</param>
/// <param name="PromptPreview">The prompt, at most 200 characters.</param>
/// <param name="Outcome">The outcome, once completed.</param>
public sealed record AgentJobSummary(
    string Id,
    string RuntimeStatus,
    string? Phase,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    string? PromptPreview,
    string? Outcome);
