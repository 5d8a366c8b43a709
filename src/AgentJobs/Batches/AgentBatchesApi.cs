using System.Globalization;
using System.Text.Json;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Retention;
using AgentJobs.Workflow;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Batches;

/// <summary>
/// The batch API, served by both hosts with this code (Functions wrappers in <c>BatchFunctions</c>, minimal APIs in
/// <c>serve</c>):
/// <list type="bullet">
/// <item><c>POST /api/agent-batches</c> → 202 + Location + links; 400 problem details naming the field (e.g. <c>prompts[3]</c>).</item>
/// <item><c>GET /api/agent-batches/{id}?page=1&amp;pageSize=50</c> → 200 counts by outcome, progress, a page of per-item results; 404.</item>
/// <item><c>POST /api/agent-batches/{id}/cancel</c> → 202; 404; 409 finished.</item>
/// <item><c>DELETE /api/agent-batches/{id}</c> → 200 purged (the batch, its items and their pollers); 404; 409 running.</item>
/// </list>
/// </summary>
public sealed class AgentBatchesApi(AgentJobRequestValidator validator, AgentJobPolicy policy, JobPurger purger, ILogger<AgentBatchesApi> logger)
{
    /// <summary>The route prefix both hosts serve.</summary>
    public const string RoutePrefix = AgentJobsRoutes.BatchesPath;

    /// <summary>Validates the batch, settles its shared settings and schedules it.</summary>
    public async Task<IResult> StartAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (Http.AgentJobsApi.UnsupportedContentType(request) is { } unsupported)
        {
            return unsupported;
        }

        var (key, invalidKey) = IdempotencyKeys.Read(request);
        if (invalidKey is not null)
        {
            return invalidKey;
        }

        var body = await ApiResults.ReadBodyAsync(request, AgentBatchLimits.MaxBodyBytes, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return ApiResults.Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The request body is larger than {AgentBatchLimits.MaxBodyBytes} bytes.", "body");
        }

        var (batch, problem) = Parse(body);
        if (problem is not null)
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid agent batch request", problem.Message, problem.Field);
        }

        var batches = Batches(client);
        var work = batches.Settle(batch!);
        string id;
        if (key is null)
        {
            id = await batches.StartAsync(work, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            (id, var outcome) = await batches.StartKeyedAsync(work, key, cancellationToken).ConfigureAwait(false);
            if (outcome == IdempotentStarts.Outcome.Conflict)
            {
                return IdempotencyKeys.Conflict("agent batch", id);
            }
        }

        logger.BatchScheduled(id, work.Prompts.Count, work.MaxParallel);
        var links = Links(request, id);
        return new ApiResults.WithLocation(ApiResults.Json(links, StatusCodes.Status202Accepted), links.StatusQueryGetUri);
    }

    /// <summary>Parses and validates a batch body; the problem names the field (<c>prompts[i]</c> for one prompt).</summary>
    public (AgentBatchRequest? Request, ValidationProblem? Problem) Parse(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty)
        {
            return (null, new("body", "The request body is empty; send a JSON object with 'prompts'."));
        }

        // The job API's reader: a field given twice, invalid Unicode, unknown fields and wrong types are named the same way.
        var (batch, readProblem) = AgentJobRequestValidator.ReadJson<AgentBatchRequest>(body);
        if (readProblem is not null)
        {
            return (null, readProblem);
        }

        if (batch is null)
        {
            return (null, new("body", "The request body must be a JSON object, not null."));
        }

        if (batch.Prompts is null || batch.Prompts.Count == 0)
        {
            return (null, new("prompts", "'prompts' is required: an array of 1 to 1000 prompts."));
        }

        if (batch.Prompts.Count > AgentBatchLimits.MaxPrompts)
        {
            return (null, new("prompts", $"'prompts' has {batch.Prompts.Count} prompts; the limit is {AgentBatchLimits.MaxPrompts}."));
        }

        if (batch.MaxParallel is { } parallel && parallel is < 1 or > AgentBatchLimits.MaxParallelLimit)
        {
            return (null, new("maxParallel", $"'maxParallel' must be between 1 and {AgentBatchLimits.MaxParallelLimit}; got {parallel}."));
        }

        if (batch.Template.ThreadId is not null && (batch.MaxParallel ?? AgentBatchLimits.DefaultMaxParallel) != 1)
        {
            return (null, new("threadId", "'threadId' needs 'maxParallel': 1: a thread runs one run at a time, so items on one thread run one after another."));
        }

        // The shared settings, as the job validator sees them (all but a prompt), then each prompt.
        if (validator.ValidateTemplate(batch.Item("")) is { } shared)
        {
            return (null, shared);
        }

        for (var i = 0; i < batch.Prompts.Count; i++)
        {
            if (validator.Validate(new AgentJobRequest(batch.Prompts[i] ?? "")) is { } item)
            {
                var field = $"prompts[{i.ToString(CultureInfo.InvariantCulture)}]";
                return (null, new(field, item.Message.Replace("'prompt'", $"'{field}'", StringComparison.Ordinal)));
            }
        }

        return (batch, null);
    }

    /// <summary>The batch's counts, progress and one page of per-item results.</summary>
    public async Task<IResult> GetAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var instance = await FindAsync(client, id, cancellationToken).ConfigureAwait(false);
        if (instance is null)
        {
            logger.BatchStatusOfUnknown(id);
            return NotFound(id);
        }

        if (!TryPage(request, out var page, out var pageSize, out var pageProblem))
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid page", pageProblem!.Message, pageProblem.Field);
        }

        var progress = ReadProgress(instance);
        var total = progress?.Total ?? 0;
        var totalPages = Math.Max(1, (total + pageSize - 1) / pageSize);
        var first = (page - 1) * pageSize;
        var indexes = Enumerable.Range(first, Math.Max(0, Math.Min(pageSize, total - first)));
        var items = await Task.WhenAll(indexes.Select(i => ReadItemAsync(request, client, id, i, progress!, cancellationToken))).ConfigureAwait(false);
        var links = Links(request, id);
        var next = page < totalPages
            ? $"{links.StatusQueryGetUri}?page={(page + 1).ToString(CultureInfo.InvariantCulture)}&pageSize={pageSize.ToString(CultureInfo.InvariantCulture)}"
            : null;
        var finished = progress?.Finished ?? 0;
        var notStarted = progress?.NotStarted ?? 0;
        return ApiResults.Json(new AgentBatchStatus(
            id,
            instance.RuntimeStatus.ToString(),
            instance.CreatedAt,
            instance.LastUpdatedAt,
            total,
            progress?.Started ?? 0,
            finished,
            progress?.Running.Count ?? 0,
            notStarted,
            total == 0 ? 0 : Math.Round(100.0 * (finished + notStarted) / total, 1),
            progress?.Outcomes ?? new Dictionary<string, int>(),
            progress?.CancelReason,
            new AgentBatchItemPage(page, pageSize, totalPages, items, next),
            links));
    }

    /// <summary>Cancels a running batch: no more items start, and every running item cancels its run and deletes its agent.</summary>
    public async Task<IResult> CancelAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var instance = await FindAsync(client, id, cancellationToken).ConfigureAwait(false);
        if (instance is null)
        {
            return NotFound(id);
        }

        if (instance.IsCompleted)
        {
            return ApiResults.Problem(StatusCodes.Status409Conflict, "Agent batch already finished",
                $"Agent batch '{id}' has already finished ({instance.RuntimeStatus}); there is nothing to cancel.", null);
        }

        // A reason is optional, but the POST must declare JSON (an empty body too), as a job's cancel requires.
        if (Http.AgentJobsApi.UnsupportedContentType(request) is { } unsupported)
        {
            return unsupported;
        }

        // The job cancel's reader and rules: 413 over the size limit; a reason must have visible text; null is not a body.
        var body = await Http.AgentJobsApi.ReadBodyAsync(request, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return ApiResults.Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The request body is larger than {Http.AgentJobsApi.MaxBodyBytes} bytes.", "body");
        }

        var (reason, problem) = Http.AgentJobsApi.ReadReason(body);
        if (problem is not null)
        {
            return ApiResults.Problem(StatusCodes.Status400BadRequest, "Invalid cancel request", problem.Message, problem.Field);
        }

        reason ??= "batch cancelled through the API";
        var raised = await Batches(client).CancelAsync(id, reason, cancellationToken).ConfigureAwait(false);
        if (raised == JobEvents.RaiseResult.Ended)
        {
            return ApiResults.Problem(StatusCodes.Status409Conflict, "Agent batch already finished",
                $"Agent batch '{id}' finished before the cancel reached it; there is nothing to cancel.", null);
        }

        if (raised == JobEvents.RaiseResult.NotStarted)
        {
            return new ApiResults.WithRetryAfter(ApiResults.Problem(StatusCodes.Status503ServiceUnavailable, "Agent batch has not started yet",
                $"Agent batch '{id}' is still waiting to start after {JobEvents.StartWait.TotalSeconds:0} s, so the cancel was not sent; try again.", null), 5);
        }

        // The batch sends each running item the job's cancel event too; raising it here as well reaches an item that
        // had not started when the batch's event arrived (an event can be lost on an instance that does not exist yet).
        if (ReadProgress(instance) is { } progress)
        {
            await Batches(client).CancelItemsAsync(id, progress.Running, reason, cancellationToken).ConfigureAwait(false);
        }

        logger.BatchCancelRequested(id);
        return ApiResults.Json(Links(request, id), StatusCodes.Status202Accepted);
    }

    /// <summary>Purges a finished batch: the batch, every item and every item's pollers.</summary>
    public async Task<IResult> DeleteAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var outcome = await purger.PurgeAsync(client, id, AgentBatchOrchestrator.Name, cancellationToken).ConfigureAwait(false);
        if (!outcome.Found)
        {
            return NotFound(id);
        }

        return outcome.Running
            ? ApiResults.Problem(StatusCodes.Status409Conflict, "Agent batch still running",
                $"Agent batch '{id}' (or one of its items) has not finished; cancel it and delete it once it has.", null)
            : ApiResults.Json(new PurgedJob(id, outcome.Instances));
    }

    AgentBatchesClient Batches(DurableTaskClient client) => new(client, policy);

    Task<OrchestrationMetadata?> FindAsync(DurableTaskClient client, string id, CancellationToken cancellationToken) =>
        Batches(client).GetAsync(id, cancellationToken);

    async Task<AgentBatchItem> ReadItemAsync(HttpRequest request, DurableTaskClient client, string batchId, int index, AgentBatchProgress progress, CancellationToken cancellationToken)
    {
        var itemId = AgentBatchesClient.ItemId(batchId, index);
        var url = ApiResults.Url(request, $"{AgentJobsApi.RoutePrefix}/{Uri.EscapeDataString(itemId)}");
        if (index >= progress.Started)
        {
            return new AgentBatchItem(index, itemId, progress.Done ? "NeverStarted" : "NotStarted", null, null, null, null, 0, null, url);
        }

        var job = await Batches(client).GetItemAsync(batchId, index, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (job is null)
        {
            return new AgentBatchItem(index, itemId, "Purged", null, null, null, null, 0, null, url);
        }

        var result = job.RuntimeStatus == OrchestrationRuntimeStatus.Completed && job.SerializedOutput is { } output
            ? StoredJson.Deserialize<AgentJobResult>(output)
            : null;
        var failure = result?.Failure ?? (job.FailureDetails is { } f ? new JobFailure(f.ErrorType, f.ErrorMessage) : null);
        return new AgentBatchItem(
            index, itemId, job.RuntimeStatus.ToString(), result?.Outcome, result?.Reply, failure, result?.AgentDeleted, result?.ToolCalls ?? 0, result?.Usage?.TotalTokens, url);
    }

    static bool TryPage(HttpRequest request, out int page, out int pageSize, out ValidationProblem? problem)
    {
        pageSize = AgentBatchLimits.DefaultPageSize;
        problem = null;
        if (!ApiResults.TryQueryInt(request, "page", 1, 1, int.MaxValue, out page))
        {
            problem = new("page", "'page' must be a whole number from 1.");
            return false;
        }

        if (!ApiResults.TryQueryInt(request, "pageSize", AgentBatchLimits.DefaultPageSize, 1, AgentBatchLimits.MaxPageSize, out pageSize))
        {
            problem = new("pageSize", $"'pageSize' must be between 1 and {AgentBatchLimits.MaxPageSize}.");
            return false;
        }

        return true;
    }

    static AgentBatchProgress? ReadProgress(OrchestrationMetadata instance) =>
        (instance.IsCompleted ? instance.SerializedOutput : null) is { } output && StoredJson.Deserialize<AgentBatchProgress>(output) is { } done
            ? done
            : instance.SerializedCustomStatus is { } status && StoredJson.Deserialize<AgentBatchProgress>(status) is { } live
                ? live
                : instance.SerializedInput is { } input && StoredJson.Deserialize<AgentBatchWork>(input) is { } work
                    ? new AgentBatchProgress(work.Prompts.Count, work.NextIndex, 0, [], work.Outcomes ?? new Dictionary<string, int>(), 0, work.CancelReason, work.Generation, false)
                    : null;

    static AgentBatchLinks Links(HttpRequest request, string id)
    {
        var root = ApiResults.Url(request, $"{RoutePrefix}/{Uri.EscapeDataString(id)}");
        return new AgentBatchLinks(id, root, root + "/cancel");
    }

    static IResult NotFound(string id) =>
        ApiResults.Problem(StatusCodes.Status404NotFound, "Agent batch not found", $"No agent batch has the id '{id}'.", null);
}
