using System.Text.Json;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace AgentJobs.Http;

/// <summary>
/// The HTTP API of agent jobs, written once and served by both hosts: the Functions app wraps each method in
/// an <c>[HttpTrigger]</c>, the local host maps it with minimal APIs.
/// <list type="bullet">
/// <item><c>POST /api/agent-jobs</c> → 202 + status links, or 400 problem details naming the field.</item>
/// <item><c>GET /api/agent-jobs/{id}</c> → 200 with runtime status, progress and (when done) the result; 404.</item>
/// <item><c>POST /api/agent-jobs/{id}/cancel</c> → 202; 404 unknown; 409 already finished.</item>
/// <item><c>POST /api/agent-jobs/{id}/approvals</c> <c>{callId, approved, reason?, decidedBy?}</c> → 202; 404 unknown job or
/// call; 409 when the call was already decided, nothing waits or the job has ended.</item>
/// </list>
/// Every POST must declare a JSON body, even an empty one: a request whose Content-Type is missing, is not
/// <c>application/json</c> or a <c>+json</c> type (charset UTF-8 if any), or is malformed, gets 415. A web page on
/// another origin can send a POST without asking the server first only with a form's or text's content type, so
/// this rule keeps such pages from changing state (see the README's security section).
/// </summary>
public sealed class AgentJobsApi(AgentJobRequestValidator validator, AgentJobPolicy policy, ILogger<AgentJobsApi> logger)
{
    /// <summary>The route prefix both hosts serve.</summary>
    public const string RoutePrefix = AgentJobsRoutes.JobsPath;

    /// <summary>Longest request body read, in bytes (the prompt limit plus generous room for the rest).</summary>
    public const int MaxBodyBytes = 1024 * 1024;

    /// <summary>JSON options of responses: <see cref="StoredJson.Options"/>, the same instance.</summary>
    public static JsonSerializerOptions JsonOptions => StoredJson.Options;

    /// <summary>Validates the request and schedules the job.</summary>
    public async Task<IResult> StartAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);

        if (UnsupportedContentType(request) is { } unsupported)
        {
            return unsupported;
        }

        var (key, invalidKey) = IdempotencyKeys.Read(request);
        if (invalidKey is not null)
        {
            return invalidKey;
        }

        var body = await ReadBodyAsync(request, cancellationToken);
        if (body is null)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The request body is larger than {MaxBodyBytes} bytes.", "body");
        }

        var (job, problem) = validator.Parse(body);
        if (problem is not null)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid agent job request", problem.Message, problem.Field);
        }

        var jobs = Jobs(client);
        var input = jobs.Settle(job!);
        string instanceId;
        if (key is null)
        {
            instanceId = await jobs.ScheduleAsync(input, instanceId: null, cancellationToken);
            logger.JobScheduled(instanceId);
        }
        else
        {
            // A retry of a request whose answer was lost finds the job the first one made (see IdempotencyKeys).
            (instanceId, var outcome) = await jobs.StartKeyedAsync(input, key, cancellationToken);
            if (outcome == IdempotentStarts.Outcome.Conflict)
            {
                return IdempotencyKeys.Conflict("agent job", instanceId);
            }

            logger.JobIdempotencyKeyOutcome(instanceId, outcome);
        }

        var links = Links(request, instanceId);
        return new WithLocation(Results.Json(links, JsonOptions, statusCode: StatusCodes.Status202Accepted), links.StatusQueryGetUri);
    }

    /// <summary>Reads a job's status, progress and result.</summary>
    public async Task<IResult> GetAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var jobs = Jobs(client);
        var instance = await jobs.GetAsync(id, getInputsAndOutputs: true, cancellationToken);
        if (instance is null)
        {
            logger.JobStatusOfUnknown(id);
            return NotFound(id);
        }

        var progress = ReadProgress(instance);
        if (progress is { Phase: JobPhase.Polling, PollerInstanceId: { } pollerId })
        {
            // The poller holds the live poll count; the job's own status is updated between poller calls.
            var poller = await jobs.GetInstanceAsync(pollerId, getInputsAndOutputs: true, cancellationToken);
            if (poller?.SerializedCustomStatus is { } live && StoredJson.Deserialize<PollerProgress>(live) is { } p)
            {
                progress = progress with { Polls = Math.Max(progress.Polls, p.Polls), RunStatus = p.RunStatus ?? progress.RunStatus };
            }
        }

        var result = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed && instance.SerializedOutput is { } output
            ? StoredJson.Deserialize<AgentJobResult>(output)
            : null;
        var status = new AgentJobStatus(
            instance.InstanceId,
            instance.RuntimeStatus.ToString(),
            instance.CreatedAt,
            instance.LastUpdatedAt,
            progress,
            result,
            instance.FailureDetails is { } f ? new JobFailure(f.ErrorType, f.ErrorMessage) : null,
            Links(request, instance.InstanceId));
        return Results.Json(status, JsonOptions);
    }

    /// <summary>Asks a running job to cancel its run gracefully; cleanup still runs.</summary>
    public async Task<IResult> CancelAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var jobs = Jobs(client);
        var instance = await jobs.GetAsync(id, getInputsAndOutputs: false, cancellationToken);
        if (instance is null)
        {
            return NotFound(id);
        }

        if (instance.IsCompleted)
        {
            return Problem(StatusCodes.Status409Conflict, "Agent job already finished",
                $"Agent job '{id}' has already finished ({instance.RuntimeStatus}); there is nothing to cancel.", null);
        }

        var body = await ReadBodyAsync(request, cancellationToken);
        if (body is null)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The request body is larger than {MaxBodyBytes} bytes.", "body");
        }

        // The body is optional, but the POST must still declare JSON (an empty body too): another site's page cannot.
        if (UnsupportedContentType(request) is { } unsupported)
        {
            return unsupported;
        }

        var reason = ReadReason(body);
        if (reason.Problem is { } problem)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid cancel request", problem.Message, problem.Field);
        }

        var raised = await jobs.CancelAsync(id, reason.Reason ?? "cancelled through the API", cancellationToken);
        if (raised == JobEvents.RaiseResult.Ended)
        {
            return Problem(StatusCodes.Status409Conflict, "Agent job already finished",
                $"Agent job '{id}' finished before the cancel reached it; there is nothing to cancel.", null);
        }

        if (raised == JobEvents.RaiseResult.NotStarted)
        {
            return new WithRetryAfter(Problem(StatusCodes.Status503ServiceUnavailable, "Agent job has not started yet",
                $"Agent job '{id}' is still waiting to start after {JobEvents.StartWait.TotalSeconds:0} s, so the cancel was not sent; try again.", null), 5);
        }

        logger.JobCancelRequested(id);
        return Results.Json(Links(request, id), JsonOptions, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>Decides a tool call the job holds for approval (its status lists them under <c>progress.pendingApprovals</c>).</summary>
    public async Task<IResult> DecideAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (UnsupportedContentType(request) is { } unsupported)
        {
            return unsupported;
        }

        var body = await ReadBodyAsync(request, cancellationToken);
        if (body is null)
        {
            return Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The request body is larger than {MaxBodyBytes} bytes.", "body");
        }

        var (decision, problem) = ReadDecision(body);
        if (problem is not null)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid approval decision", problem.Message, problem.Field);
        }

        // Who decided: the signed-in user when the host authenticated one, else what the caller says.
        if (request.HttpContext.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } user })
        {
            decision = decision! with { DecidedBy = user };
        }

        var outcome = string.IsNullOrWhiteSpace(id)
            ? JobApprovals.Outcome.UnknownJob
            : await Jobs(client).DecideAsync(id, decision!, cancellationToken);
        if (outcome == JobApprovals.Outcome.Sent)
        {
            logger.JobApprovalDecision(decision!.CallId, id, decision.Approved ? "approved" : "rejected");
        }

        return DecisionResult(outcome, "Agent job", id, decision!, Links(request, id).StatusQueryGetUri, () => NotFound(id));
    }

    /// <summary>The HTTP answer to a decision's outcome (shared by jobs and session turns).</summary>
    internal static IResult DecisionResult(JobApprovals.Outcome outcome, string what, string id, ApprovalDecision decision, string statusUri, Func<IResult> notFound)
    {
        var callId = decision.CallId;
        return outcome switch
        {
            JobApprovals.Outcome.Sent => Results.Json(new ApprovalAccepted(id, callId, decision.Approved, statusUri), JsonOptions, statusCode: StatusCodes.Status202Accepted),
            JobApprovals.Outcome.UnknownJob => notFound(),
            JobApprovals.Outcome.UnknownCall => Problem(StatusCodes.Status404NotFound, "Tool call not found", $"No tool call of {what.ToLowerInvariant()} '{id}' with the id '{callId}' waits for approval.", "callId"),
            JobApprovals.Outcome.AlreadyDecided => Problem(StatusCodes.Status409Conflict, "Tool call already decided", $"Tool call '{callId}' of {what.ToLowerInvariant()} '{id}' was already decided; the first decision stands.", "callId"),
            JobApprovals.Outcome.Finished => Problem(StatusCodes.Status409Conflict, $"{what} already finished", $"{what} '{id}' has already finished; nothing waits for approval.", null),
            JobApprovals.Outcome.NothingPending => Problem(StatusCodes.Status409Conflict, "Nothing awaits approval", $"No tool call of {what.ToLowerInvariant()} '{id}' waits for approval now.", "callId"),
            _ => new WithRetryAfter(Problem(StatusCodes.Status503ServiceUnavailable, $"{what} has not started yet",
                $"{what} '{id}' is still waiting to start after {JobEvents.StartWait.TotalSeconds:0} s, so the decision was not sent; try again.", null), 5),
        };
    }

    internal static (ApprovalDecision? Decision, ValidationProblem? Problem) ReadDecision(byte[] body)
    {
        const string shape = " The body must be a JSON object like {\"callId\": \"call_…\", \"approved\": true, \"reason\": \"…\"}.";
        if (body.Length == 0)
        {
            return (null, new("body", "The request body is empty." + shape));
        }

        var (read, problem) = AgentJobRequestValidator.ReadJson<ApprovalDecisionBody>(body);
        if (problem is not null)
        {
            return (null, problem.Field == "body" ? problem with { Message = problem.Message + shape } : problem);
        }

        return read switch
        {
            null => (null, new("body", "The request body must be a JSON object, not null." + shape)),
            { CallId: null or "" } => (null, new("callId", "'callId' is required: the id of a call in the job's progress.pendingApprovals.")),
            { CallId.Length: > 256 } => (null, new("callId", "'callId' must be at most 256 characters.")),
            { Approved: null } => (null, new("approved", "'approved' is required: true runs the call, false rejects it.")),
            { Reason.Length: > 1000 } => (null, new("reason", "'reason' must be at most 1000 characters.")),
            { DecidedBy.Length: > 200 } => (null, new("decidedBy", "'decidedBy' must be at most 200 characters.")),
            _ => (TextRules.Check("callId", read.CallId)
                  ?? (read.Reason is { } reason ? TextRules.Check("reason", reason, allowEmpty: true) : null)
                  ?? (read.DecidedBy is { } by ? TextRules.Check("decidedBy", by, allowEmpty: true) : null)) is { } invalid
                ? (null, invalid)
                : (new ApprovalDecision(read.CallId, read.Approved.Value, NullIfEmpty(read.Reason), NullIfEmpty(read.DecidedBy)), null),
        };
    }

    static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    internal static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength > MaxBodyBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0)
        {
            if (buffer.Length + read > MaxBodyBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    internal static (string? Reason, ValidationProblem? Problem) ReadReason(byte[] body)
    {
        if (body.Length == 0)
        {
            return (null, null);
        }

        var (cancel, problem) = AgentJobRequestValidator.ReadJson<CancelJobRequest>(body);
        if (problem is not null)
        {
            return (null, problem.Field == "body" ? problem with { Message = problem.Message + " The body must be empty or a JSON object like {\"reason\": \"...\"}." } : problem);
        }

        if (cancel is null)
        {
            return (null, new("body", "The request body must be empty or a JSON object like {\"reason\": \"...\"}, not null."));
        }

        return cancel.Reason switch
        {
            null or "" => (null, null),
            { Length: > 1000 } => (null, new("reason", "'reason' must be at most 1000 characters.")),
            var reason => TextRules.Check("reason", reason) is { } invalid ? (null, invalid) : (reason, null),
        };
    }

    /// <summary>
    /// 415 unless the request declares a JSON body: <c>application/json</c> or any <c>+json</c> type, with no charset
    /// or UTF-8. A missing Content-Type is refused too: those are the content types (none, <c>text/plain</c>, forms)
    /// that a page on another origin can send without a CORS preflight, so requiring JSON keeps such pages from
    /// changing state.
    /// </summary>
    internal static IResult? UnsupportedContentType(HttpRequest request)
    {
        var header = request.Headers.ContentType;
        if (StringValues.IsNullOrEmpty(header))
        {
            return Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                "The request has no Content-Type. A request that changes state must declare its body as application/json " +
                "(or a +json type, charset utf-8 if any), even when the body is empty.", null);
        }

        string? detail = null;
        if (header.Count != 1 || !MediaTypeHeaderValue.TryParse(header.ToString(), out var media))
        {
            detail = $"The Content-Type '{header}' is not a valid media type.";
        }
        else if (!media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) && !media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
        {
            detail = $"The Content-Type '{media.MediaType}' is not supported.";
        }
        else if (media.Charset.HasValue &&
                 !HeaderUtilities.RemoveQuotes(media.Charset).Equals("utf-8", StringComparison.OrdinalIgnoreCase) &&
                 !HeaderUtilities.RemoveQuotes(media.Charset).Equals("utf8", StringComparison.OrdinalIgnoreCase))
        {
            detail = $"The charset '{media.Charset}' is not supported; JSON bodies are read as UTF-8.";
        }

        return detail is null
            ? null
            : Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type",
                detail + " Send the body as application/json (or a +json type, charset utf-8 if any).", null);
    }

    static JobProgress? ReadProgress(OrchestrationMetadata instance) =>
        instance.SerializedCustomStatus is { } json ? StoredJson.Deserialize<JobProgress>(json) : null;

    AgentJobsClient Jobs(DurableTaskClient client) => new(client, policy);

    static AgentJobLinks Links(HttpRequest request, string instanceId)
    {
        var root = $"{request.Scheme}://{request.Host}{request.PathBase}/{RoutePrefix}/{Uri.EscapeDataString(instanceId)}";
        return new AgentJobLinks(instanceId, root, root + "/cancel");
    }

    static IResult NotFound(string id) =>
        Problem(StatusCodes.Status404NotFound, "Agent job not found", $"No agent job has the id '{id}'.", null);

    internal static IResult Problem(int status, string title, string detail, string? field) => ApiResults.Problem(status, title, detail, field);

    /// <summary>Adds a Retry-After header (seconds) to a result.</summary>
    internal sealed class WithRetryAfter(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }

    /// <summary>Adds a Location header to a result.</summary>
    internal sealed class WithLocation(IResult inner, string location) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }
}

/// <summary>The body of an approval decision as sent (every field optional here so each missing one gets its own message).</summary>
/// <param name="CallId">The call decided.</param>
/// <param name="Approved">Run it (true) or reject it (false).</param>
/// <param name="Reason">Why; a rejection's reason reaches the model.</param>
/// <param name="DecidedBy">Who decided, when the host has no signed-in user.</param>
public sealed record ApprovalDecisionBody(string? CallId, bool? Approved, string? Reason = null, string? DecidedBy = null);

/// <summary>The 202 answer to an approval decision.</summary>
/// <param name="Id">The job.</param>
/// <param name="CallId">The call decided.</param>
/// <param name="Approved">The decision sent.</param>
/// <param name="StatusQueryGetUri">GET for the job's status.</param>
public sealed record ApprovalAccepted(string Id, string CallId, bool Approved, string StatusQueryGetUri);

/// <summary>Optional body of a cancel request.</summary>
/// <param name="Reason">Why; recorded in the job's result.</param>
public sealed record CancelJobRequest(string? Reason);

/// <summary>Where to follow a job (the durable check-status payload of this API).</summary>
/// <param name="Id">The job (orchestration instance) id.</param>
/// <param name="StatusQueryGetUri">GET for status, progress and result.</param>
/// <param name="CancelPostUri">POST to cancel gracefully.</param>
public sealed record AgentJobLinks(string Id, string StatusQueryGetUri, string CancelPostUri);

/// <summary>The GET response.</summary>
/// <param name="Id">The job id.</param>
/// <param name="RuntimeStatus">Durable runtime status: Pending, Running, Completed, Failed, Terminated, Suspended.</param>
/// <param name="CreatedAt">When it was scheduled.</param>
/// <param name="LastUpdatedAt">When it last changed.</param>
/// <param name="Progress">The live progress.</param>
/// <param name="Result">The result, once completed.</param>
/// <param name="Failure">The orchestration's own failure, if it crashed (the job's outcome is in the result).</param>
/// <param name="Links">Where to follow it.</param>
public sealed record AgentJobStatus(
    string Id,
    string RuntimeStatus,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    JobProgress? Progress,
    AgentJobResult? Result,
    JobFailure? Failure,
    AgentJobLinks Links);
