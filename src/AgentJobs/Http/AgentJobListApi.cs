using System.Globalization;
using System.Text;
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
public sealed class AgentJobListApi(Microsoft.Extensions.Logging.ILogger<AgentJobListApi> logger)
{
    /// <summary>Default page size.</summary>
    public const int DefaultTop = 50;

    /// <summary>Largest page size.</summary>
    public const int MaxTop = 200;

    /// <summary>Lists jobs.</summary>
    public Task<IResult> ListAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken = default) =>
        ListAsync(request, client, AgentJobOrchestrator.Name, Summarize, (page, next) => new AgentJobPage(page, next), cancellationToken);

    /// <summary>
    /// Lists sessions (<c>GET /api/agent-sessions</c>, same filters and paging). A session that continued as new
    /// counts from its current generation's start on backends that date instances by generation.
    /// </summary>
    public Task<IResult> ListSessionsAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken = default) =>
        ListAsync(request, client, Sessions.AgentSessionOrchestrator.Name, SummarizeSession, (page, next) => new AgentSessionPage(page, next), cancellationToken);

    async Task<IResult> ListAsync<TSummary>(
        HttpRequest request,
        DurableTaskClient client,
        string orchestratorName,
        Func<OrchestrationMetadata, TSummary> summarize,
        Func<IReadOnlyList<TSummary>, string?, object> pageOf,
        CancellationToken cancellationToken)
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
                    return Bad("status", $"'{word}' is not a runtime status. Use: {string.Join(", ", Enum.GetNames<OrchestrationRuntimeStatus>())}.");
                }

                statuses.Add(status);
            }
        }

        if (!TryDate(query["createdFrom"], out var from))
        {
            return Bad("createdFrom", "'createdFrom' must be an ISO 8601 date and time, e.g. 2025-01-31T12:00:00Z.");
        }

        if (!TryDate(query["createdTo"], out var to))
        {
            return Bad("createdTo", "'createdTo' must be an ISO 8601 date and time, e.g. 2025-01-31T12:00:00Z.");
        }

        if (from is not null && to is not null && from > to)
        {
            return Bad("createdTo", "'createdTo' must not be before 'createdFrom'.");
        }

        var top = DefaultTop;
        if (query["top"].ToString() is { Length: > 0 } topText
            && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top < 1 || top > MaxTop))
        {
            return Bad("top", $"'top' must be a whole number from 1 to {MaxTop}.");
        }

        (DateTimeOffset CreatedAt, string Id)? cursor = null;
        if (query["continuationToken"].ToString() is { Length: > 0 } token)
        {
            if (ReadToken(token) is not { } parsed)
            {
                return Bad("continuationToken", "'continuationToken' is not a token this API returned.");
            }

            cursor = parsed;
        }

        var upper = cursor is { } c && (to is null || c.CreatedAt < to) ? c.CreatedAt.AddSeconds(1) : to;
        var filter = new OrchestrationQuery(from, upper, statuses, PageSize: 1000, FetchInputsAndOutputs: false);
        var matching = new List<OrchestrationMetadata>();
        await foreach (var instance in client.GetAllInstancesAsync(filter).WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            // Backends differ in how exactly they apply filters; apply them again here.
            if (instance.Name == orchestratorName
                && (statuses is null || statuses.Contains(instance.RuntimeStatus))
                && (from is null || instance.CreatedAt >= from)
                && (to is null || instance.CreatedAt <= to)
                && (cursor is null || Before(instance, cursor.Value)))
            {
                matching.Add(instance);
            }
        }

        var page = matching.OrderByDescending(i => i.CreatedAt).ThenByDescending(i => i.InstanceId, StringComparer.Ordinal).Take(top + 1).ToList();
        var more = page.Count > top;
        page = page.Take(top).ToList();
        var items = new List<TSummary>(page.Count);
        foreach (var instance in page)
        {
            var full = await client.GetInstanceAsync(instance.InstanceId, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false) ?? instance;
            items.Add(summarize(full));
        }

        Microsoft.Extensions.Logging.LoggerExtensions.LogDebug(logger, "Listed {Count} of {Matching} {Name} instances.", items.Count, matching.Count, orchestratorName);
        var next = more ? WriteToken(page[^1].CreatedAt, page[^1].InstanceId) : null;
        return Results.Json(pageOf(items, next), AgentJobsApi.JsonOptions);
    }

    static AgentSessionSummary SummarizeSession(OrchestrationMetadata instance)
    {
        var progress = AgentJobsApi.Deserialize<Sessions.SessionProgress>(instance.SerializedCustomStatus);
        var ended = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? AgentJobsApi.Deserialize<Sessions.AgentSessionResult>(instance.SerializedOutput) : null;
        return new AgentSessionSummary(
            instance.InstanceId,
            instance.RuntimeStatus.ToString(),
            instance.IsCompleted ? "ended" : progress?.Status ?? "starting",
            instance.CreatedAt,
            instance.LastUpdatedAt,
            ended?.Turns ?? progress?.TurnsCompleted ?? 0,
            ended?.Reason);
    }

    static AgentJobSummary Summarize(OrchestrationMetadata instance)
    {
        var request = AgentJobsApi.Deserialize<AgentJobRequest>(instance.SerializedInput);
        var progress = AgentJobsApi.Deserialize<JobProgress>(instance.SerializedCustomStatus);
        var result = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? AgentJobsApi.Deserialize<AgentJobResult>(instance.SerializedOutput) : null;
        return new AgentJobSummary(
            instance.InstanceId,
            instance.RuntimeStatus.ToString(),
            progress?.Phase.ToString(),
            instance.CreatedAt,
            instance.LastUpdatedAt,
            Events.JobEventProjector.Cut(request?.Prompt, Events.JobEventProjector.PromptPreviewChars),
            result?.Outcome.ToString());
    }

    static bool Before(OrchestrationMetadata instance, (DateTimeOffset CreatedAt, string Id) cursor) =>
        instance.CreatedAt < cursor.CreatedAt
        || (instance.CreatedAt == cursor.CreatedAt && string.CompareOrdinal(instance.InstanceId, cursor.Id) < 0);

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

    internal static IResult Bad(string field, string detail) => Results.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
    {
        Status = StatusCodes.Status400BadRequest,
        Title = "Invalid agent job query",
        Detail = detail,
        Type = "https://httpstatuses.io/400",
        Extensions = { ["field"] = field },
    });
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
