using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Sessions;
using AgentJobs.Workflow;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using static AgentJobs.Http.AgentJobsApi;

namespace AgentJobs.Http;

/// <summary>
/// The HTTP API of agent sessions, written once and served by both hosts (as <see cref="AgentJobsApi"/> is):
/// <list type="bullet">
/// <item><c>POST /api/agent-sessions</c> → 201 + Location; 400 naming the field; 502 when it ends while starting (its agent or thread refused).</item>
/// <item><c>POST /api/agent-sessions/{id}/turns</c> <c>{prompt, maxDurationSeconds?, onBusy?}</c> → 202 (queued when a turn runs;
/// <c>onBusy: interrupt</c> cancels the running turn and runs this one next); 404; 409 ended, or a turn runs and <c>onBusy</c> is <c>reject</c>.</item>
/// <item><c>GET /api/agent-sessions/{id}</c> → 200 status, agent, thread, turns, usage; 404.</item>
/// <item><c>GET /api/agent-sessions/{id}/turns?after={n}&amp;top={m}</c> → 200 a page of turns, oldest first, with a <c>next</c> link; 400; 404.</item>
/// <item><c>GET /api/agent-sessions/{id}/turns/{n}</c> (number or turn id) → 200 the turn's progress and result; 404.</item>
/// <item><c>POST /api/agent-sessions/{id}/cancel-turn</c> → 202; 409 when no turn runs.</item>
/// <item><c>POST /api/agent-sessions/{id}/approvals</c> → as a job's, for the running turn.</item>
/// <item><c>DELETE /api/agent-sessions/{id}</c> → 202: the running turn is cancelled, the agent deleted; 404; 409 ended.</item>
/// </list>
/// </summary>
public sealed class AgentSessionsApi(AgentJobRequestValidator validator, AgentJobPolicy policy, AgentJobsApiOptions options, ILogger<AgentSessionsApi> logger)
{
    /// <summary>The route prefix both hosts serve.</summary>
    public const string RoutePrefix = AgentJobsRoutes.SessionsPath;

    /// <summary>Most turns a session's GET lists (the newest are kept).</summary>
    public const int MaxListedTurns = 1_000;

    /// <summary>Turns per page of <c>GET …/turns</c> unless <c>top</c> says otherwise.</summary>
    public const int DefaultTurnsPage = 50;

    /// <summary>Most turns per page of <c>GET …/turns</c>.</summary>
    public const int MaxTurnsPage = 1_000;

    /// <summary>Starts a session: its agent and thread are created by activities.</summary>
    public async Task<IResult> StartAsync(HttpRequest request, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var (key, invalidKey) = IdempotencyKeys.Read(request);
        if (invalidKey is not null)
        {
            return invalidKey;
        }

        var (session, problem) = await ReadAsync<AgentSessionRequest>(request, allowEmpty: true, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        var (state, invalid) = SessionRequests.Settle(session ?? new AgentSessionRequest(), validator, policy, options);
        if (invalid is not null)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid agent session request", invalid.Message, invalid.Field);
        }

        string id;
        var replayed = false;
        if (key is null)
        {
            id = await Sessions(client).StartAsync(state!, cancellationToken);
        }
        else
        {
            (id, var outcome) = await Sessions(client).StartKeyedAsync(state!, key, cancellationToken);
            if (outcome == IdempotentStarts.Outcome.Conflict)
            {
                return IdempotencyKeys.Conflict("agent session", id);
            }

            replayed = outcome == IdempotentStarts.Outcome.Replayed;
        }

        logger.SessionStarted(id, replayed ? " (asked for again with its idempotency key)" : "");

        // The thread is made by an activity; wait briefly so the answer can name it.
        var (instance, progress) = await WaitForProgressAsync(client, id, p => p.ThreadId is not null, TimeSpan.FromSeconds(10), cancellationToken);
        var links = Links(request, id);
        if (replayed && instance?.IsCompleted == true && StoredJson.Deserialize<AgentSessionResult>(instance.SerializedOutput) is { ThreadId: { } endedThread } endedSession)
        {
            // A retry of a session that started and has ended since: the same session, as it is now.
            return new WithLocation(Results.Json(new SessionStarted(id, endedSession.AgentId, endedThread, links), JsonOptions, statusCode: StatusCodes.Status201Created), links.Session);
        }

        if (instance?.IsCompleted == true)
        {
            // It ended before it could take a turn (the agent service refused its agent or thread, a tool's MCP server
            // is down): no session to talk to, so no 201. The ended session stays readable at its link.
            var ended = StoredJson.Deserialize<AgentSessionResult>(instance.SerializedOutput);
            logger.SessionEndedWhileStarting(id, ended?.Failure?.Message ?? ended?.Reason);
            return Problem(StatusCodes.Status502BadGateway, "Agent session could not start",
                $"Agent session '{id}' ended while starting: {ended?.Failure?.Message ?? ended?.Reason ?? instance.RuntimeStatus.ToString()}. Details: GET {links.Session}.", null);
        }

        return new WithLocation(Results.Json(new SessionStarted(id, progress?.AgentId, progress?.ThreadId, links), JsonOptions, statusCode: StatusCodes.Status201Created), links.Session);
    }

    /// <summary>Sends a turn; it runs when the turns before it have.</summary>
    public async Task<IResult> SendTurnAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var (key, invalidKey) = IdempotencyKeys.Read(request);
        if (invalidKey is not null)
        {
            return invalidKey;
        }

        var (turn, problem) = await ReadAsync<SessionTurnRequest>(request, allowEmpty: false, cancellationToken);
        if (problem is not null)
        {
            return problem;
        }

        if (validator.Validate(new AgentJobRequest(turn!.Prompt, MaxDurationSeconds: turn.MaxDurationSeconds)) is { } invalid)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid turn", invalid.Message, invalid.Field);
        }

        var onBusy = turn.OnBusy ?? "queue";
        if (!SessionTurnRequest.OnBusyValues.Contains(onBusy, StringComparer.Ordinal))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid turn", $"'onBusy' must be one of {string.Join(", ", SessionTurnRequest.OnBusyValues)}; got '{onBusy}'.", "onBusy");
        }

        // With a key, the turn's id comes from it: a retry finds the turn the first request queued (or that has run since).
        if (key is null)
        {
            return await QueueTurnAsync(request, client, id, turn, onBusy, null, cancellationToken);
        }

        var keyedTurnId = InstanceIds.KeyedTurn(id, key);
        return await IdempotentStarts.SerializedAsync(InstanceIds.MailboxRequest(id, keyedTurnId), async () =>
            await ReplayTurnAsync(request, client, id, keyedTurnId, turn, cancellationToken)
            ?? await QueueTurnAsync(request, client, id, turn, onBusy, keyedTurnId, cancellationToken), cancellationToken);
    }

    async Task<IResult> QueueTurnAsync(HttpRequest request, DurableTaskClient client, string id, SessionTurnRequest turn, string onBusy, string? turnId, CancellationToken cancellationToken)
    {
        var (instance, state, missing) = await FindAsync(client, id, cancellationToken);
        if (missing is not null)
        {
            return missing;
        }

        var running = Progress(instance!)?.RunningTurn;
        if (onBusy == "reject" && running is not null)
        {
            return Problem(StatusCodes.Status409Conflict, "A turn is running",
                $"Agent session '{id}' is running turn {running.Number}; the turn was not queued (onBusy: reject). Send it again later, or with onBusy 'queue' or 'interrupt'.", "onBusy");
        }

        // The turn goes into the session's durable mailbox first; the doorbell only wakes an idle session. An
        // interrupting turn goes ahead of the queue, then the running turn is cancelled (as cancel-turn does: its run
        // stopped, its tool calls answered), so the session runs it next.
        var next = SessionRequests.Turn(state!, turn.Prompt, turn.MaxDurationSeconds, turnId) with { Interrupting = onBusy == "interrupt" };
        TurnSent sent;
        try
        {
            sent = await Sessions(client).SendTurnAsync(id, next, cancellationToken);
        }
        catch (Exception ex) when (turnId is not null && ex is not OperationCanceledException)
        {
            // Another process queued it first with the key; anything else is a real failure.
            return await ReplayTurnAsync(request, client, id, turnId, turn, cancellationToken)
                ?? throw new InvalidOperationException($"Turn {turnId} of agent session {id} could not be queued.", ex);
        }

        if (sent == TurnSent.Refused)
        {
            logger.SessionTurnRefused(next.TurnId, id);
            return Problem(StatusCodes.Status409Conflict, "Agent session ended",
                $"Agent session '{id}' ended before it could take this turn (no turn for {state!.IdleTimeoutSeconds} s, or its start failed); it takes no more turns.", null);
        }

        if (next.Interrupting && running is not null)
        {
            var interrupted = await Sessions(client).CancelTurnAsync(running, $"interrupted by turn {next.TurnId}", cancellationToken);
            logger.SessionTurnInterrupted(running.Number, id, next.TurnId, interrupted);
        }

        var queued = sent == TurnSent.Queued;
        logger.SessionTurnSent(next.TurnId, id, queued ? " (queued)" : "");
        var links = Links(request, id);
        return Results.Json(new TurnAccepted(id, next.TurnId, queued, $"{links.Session}/turns/{next.TurnId}", links.Session), JsonOptions, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>
    /// The answer to a keyed turn that exists already (queued in the mailbox, or started): 202 with its id when it was
    /// the same request, 422 when it was another; null when the key made no turn yet.
    /// </summary>
    async Task<IResult?> ReplayTurnAsync(HttpRequest request, DurableTaskClient client, string id, string turnId, SessionTurnRequest turn, CancellationToken cancellationToken)
    {
        AgentJobSpec? earlier = null;
        var queued = false;
        if (await Sessions(client).GetQueuedTurnAsync(id, turnId, cancellationToken) is { } waiting)
        {
            earlier = StoredJson.Deserialize<SessionTurnEvent>(waiting.SerializedInput)?.Request;
            queued = true;
        }

        if (earlier is null)
        {
            earlier = StoredJson.Deserialize<SessionTurnInput>((await Sessions(client).FindTurnAsync(id, turnId, cancellationToken))?.SerializedInput)?.Request;
        }

        if (earlier is null)
        {
            return null;
        }

        if (earlier.Prompt != turn.Prompt || earlier.MaxDurationSeconds != (turn.MaxDurationSeconds ?? AgentJobDefaults.MaxDurationSeconds))
        {
            return IdempotencyKeys.Conflict("turn", turnId);
        }

        logger.SessionTurnReplayed(turnId, id);
        var links = Links(request, id);
        return Results.Json(new TurnAccepted(id, turnId, queued, $"{links.Session}/turns/{turnId}", links.Session), JsonOptions, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>The session: status, agent, thread, turns (oldest first) and usage.</summary>
    public async Task<IResult> GetAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var instance = await Sessions(client).GetAsync(id, getInputsAndOutputs: true, cancellationToken);
        if (instance is null)
        {
            logger.SessionStatusOfUnknown(id);
            return SessionNotFound(id);
        }

        var turns = await TurnsAsync(client, id, cancellationToken);
        var ended = instance.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? StoredJson.Deserialize<AgentSessionResult>(instance.SerializedOutput) : null;
        var progress = Progress(instance);
        var status = instance.IsCompleted ? "ended" : progress?.Status ?? "starting";
        return Results.Json(
            new AgentSessionStatus(
                id, status, instance.RuntimeStatus.ToString(), AgentJobListApi.SessionStartedAt(instance), instance.LastUpdatedAt,
                ended?.AgentId ?? progress?.AgentId, ended?.ThreadId ?? progress?.ThreadId, progress?.RunningTurn?.Number, progress?.IdleExpiresAt,
                [.. turns.TakeLast(MaxListedTurns)],
                TokenUsage.Add(null, turns.Aggregate((TokenUsage?)null, (sum, t) => TokenUsage.Add(sum, t.Usage))),
                ended,
                Links(request, id)),
            JsonOptions);
    }

    /// <summary>
    /// The session's turns, oldest first, a page at a time: <c>?after={turn number}</c> (default 0) and <c>?top=</c>
    /// (1–<see cref="MaxTurnsPage"/>, default <see cref="DefaultTurnsPage"/>); <c>next</c> links the following page.
    /// 400 naming a bad parameter; 404 unknown session.
    /// </summary>
    public async Task<IResult> ListTurnsAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (!ApiResults.TryQueryInt(request, "after", 0, 0, int.MaxValue, out var after))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid turns query", "'after' must be a turn number (a whole number, 0 or more).", "after");
        }

        if (!ApiResults.TryQueryInt(request, "top", DefaultTurnsPage, 1, MaxTurnsPage, out var top))
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid turns query", $"'top' must be a whole number from 1 to {MaxTurnsPage}.", "top");
        }

        if (await Sessions(client).GetAsync(id, getInputsAndOutputs: false, cancellationToken) is null)
        {
            logger.SessionTurnsOfUnknown(id);
            return SessionNotFound(id);
        }

        var page = (await TurnsAsync(client, id, cancellationToken)).Where(t => t.Number > after).Take(top + 1).ToList();
        var next = page.Count > top ? $"{Links(request, id).Turns}?after={page[top - 1].Number}&top={top}" : null;
        return Results.Json(new SessionTurnsPage(id, [.. page.Take(top)], next), JsonOptions);
    }

    /// <summary>One turn, by number or turn id: its live progress and, once done, its result.</summary>
    public async Task<IResult> GetTurnAsync(HttpRequest request, string id, string turn, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (await Sessions(client).GetAsync(id, getInputsAndOutputs: false, cancellationToken) is null)
        {
            return SessionNotFound(id);
        }

        OrchestrationMetadata? found = null;
        if (int.TryParse(turn, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var number) && number > 0)
        {
            found = await Sessions(client).GetTurnAsync(id, number, cancellationToken);
        }
        else
        {
            found = await Sessions(client).FindTurnAsync(id, turn, cancellationToken);
        }

        if (found is null || found.Name != AgentTurnOrchestrator.Name)
        {
            logger.SessionTurnUnknown(turn, id);
            return Problem(StatusCodes.Status404NotFound, "Turn not found",
                $"Agent session '{id}' has no turn '{turn}' (yet: a queued turn gets its number when it starts).", null);
        }

        var input = StoredJson.Deserialize<SessionTurnInput>(found.SerializedInput);
        return Results.Json(
            new SessionTurnStatus(id, input?.Number ?? 0, input?.TurnId, found.RuntimeStatus.ToString(), found.CreatedAt, found.LastUpdatedAt,
                StoredJson.Deserialize<JobProgress>(found.SerializedCustomStatus), StoredJson.Deserialize<SessionTurnResult>(found.SerializedOutput)),
            JsonOptions);
    }

    /// <summary>Cancels the running turn gracefully; the session stays.</summary>
    public async Task<IResult> CancelTurnAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var (reason, invalid) = await ReadReasonAsync(request, "Invalid cancel request", requireJson: true, cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        var (instance, _, missing) = await FindAsync(client, id, cancellationToken);
        if (missing is not null)
        {
            return missing;
        }

        if (Progress(instance!)?.RunningTurn is not { } running)
        {
            return Problem(StatusCodes.Status409Conflict, "No turn is running", $"Agent session '{id}' runs no turn now; there is nothing to cancel.", null);
        }

        switch (await Sessions(client).CancelTurnAsync(running, reason ?? "cancelled through the API", cancellationToken))
        {
            case JobEvents.RaiseResult.NotStarted:
                return NotStarted(id);
            case JobEvents.RaiseResult.Ended:
                return Problem(StatusCodes.Status409Conflict, "No turn is running", $"Turn {running.Number} of agent session '{id}' finished before the cancel reached it; there is nothing to cancel.", null);
        }

        logger.SessionTurnCancelRequested(running.Number, id);
        return Results.Json(new { id, turn = running.Number, running.TurnId }, JsonOptions, statusCode: StatusCodes.Status202Accepted);
    }

    /// <summary>Decides a tool call the running turn holds for approval.</summary>
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
            return TooLarge();
        }

        var (decision, invalid) = ReadDecision(body);
        if (invalid is not null)
        {
            return Problem(StatusCodes.Status400BadRequest, "Invalid approval decision", invalid.Message, invalid.Field);
        }

        var (instance, _, missing) = await FindAsync(client, id, cancellationToken);
        if (missing is not null)
        {
            return missing;
        }

        if (request.HttpContext.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } user })
        {
            decision = decision! with { DecidedBy = user };
        }

        var outcome = Progress(instance!)?.RunningTurn is { } running
            ? await Sessions(client).DecideAsync(running, decision!, cancellationToken)
            : JobApprovals.Outcome.NothingPending;
        logger.SessionApprovalDecision(decision!.CallId, id, outcome);
        return DecisionResult(outcome is JobApprovals.Outcome.UnknownJob or JobApprovals.Outcome.Finished ? JobApprovals.Outcome.NothingPending : outcome,
            "Agent session", id, decision!, Links(request, id).Session, () => SessionNotFound(id));
    }

    /// <summary>Ends the session: the running turn is cancelled, the agent deleted (and the thread, unless adopted or kept).</summary>
    public async Task<IResult> EndAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var (reason, invalid) = await ReadReasonAsync(request, "Invalid end request", requireJson: false, cancellationToken);
        if (invalid is not null)
        {
            return invalid;
        }

        var (instance, _, missing) = await FindAsync(client, id, cancellationToken);
        if (missing is not null)
        {
            return missing;
        }

        reason ??= "ended through the API";
        await Sessions(client).EndAsync(id, reason, Progress(instance!)?.RunningTurn, cancellationToken);
        logger.SessionEndRequested(id);
        return Results.Json(Links(request, id), JsonOptions, statusCode: StatusCodes.Status202Accepted);
    }

    static async Task<(OrchestrationMetadata? Instance, SessionState? State, IResult? Problem)> FindAsync(DurableTaskClient client, string id, CancellationToken cancellationToken)
    {
        var instance = await Sessions(client).GetAsync(id, getInputsAndOutputs: true, cancellationToken);
        if (instance is null)
        {
            return (null, null, SessionNotFound(id));
        }

        if (instance.IsCompleted)
        {
            return (instance, null, Problem(StatusCodes.Status409Conflict, "Agent session ended", $"Agent session '{id}' has ended ({instance.RuntimeStatus}).", null));
        }

        // Asked to end: it takes nothing more (a turn accepted now would never run).
        if (await Sessions(client).IsEndingAsync(id, cancellationToken))
        {
            return (instance, null, Problem(StatusCodes.Status409Conflict, "Agent session ending", $"Agent session '{id}' was asked to end; it takes no more turns.", null));
        }

        return (instance, StoredJson.Deserialize<SessionState>(instance.SerializedInput), null);
    }

    /// <summary>
    /// An optional <c>{"reason": "…"}</c> body, held to the job cancel's rules: 413 too large, 415 not JSON, 400 invalid.
    /// A POST (<paramref name="requireJson"/>) must declare JSON even with no body; a DELETE, which no page on another
    /// origin can send without a preflight, only when it has one.
    /// </summary>
    static async Task<(string? Reason, IResult? Problem)> ReadReasonAsync(HttpRequest request, string title, bool requireJson, CancellationToken cancellationToken)
    {
        var body = await ReadBodyAsync(request, cancellationToken);
        if (body is null)
        {
            return (null, TooLarge());
        }

        if ((requireJson || body.Length > 0) && UnsupportedContentType(request) is { } unsupported)
        {
            return (null, unsupported);
        }

        var (reason, invalid) = ReadReason(body);
        return invalid is null ? (reason, null) : (null, Problem(StatusCodes.Status400BadRequest, title, invalid.Message, invalid.Field));
    }

    static IResult TooLarge() =>
        Problem(StatusCodes.Status413PayloadTooLarge, "Request body too large", $"The request body is larger than {MaxBodyBytes} bytes.", "body");

    static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, bool allowEmpty, CancellationToken cancellationToken)
        where T : class
    {
        if (UnsupportedContentType(request) is { } unsupported)
        {
            return (null, unsupported);
        }

        var body = await ReadBodyAsync(request, cancellationToken);
        if (body is null)
        {
            return (null, TooLarge());
        }

        if (body.Length == 0)
        {
            return allowEmpty ? (null, null) : (null, Problem(StatusCodes.Status400BadRequest, "Invalid request", "The request body is empty; send a JSON object.", "body"));
        }

        var (value, problem) = AgentJobRequestValidator.ReadJson<T>(body);
        return problem is not null || value is null
            ? (null, Problem(StatusCodes.Status400BadRequest, "Invalid request", problem?.Message ?? "The request body must be a JSON object, not null.", problem?.Field ?? "body"))
            : (value, null);
    }

    static async Task<(OrchestrationMetadata? Instance, SessionProgress? Progress)> WaitForProgressAsync(
        DurableTaskClient client, string id, Func<SessionProgress, bool> condition, TimeSpan wait, CancellationToken cancellationToken)
    {
        var until = DateTime.UtcNow + wait;
        OrchestrationMetadata? instance = null;
        SessionProgress? progress = null;
        while (DateTime.UtcNow < until)
        {
            instance = await Sessions(client).GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken);
            progress = instance is null ? null : Progress(instance);
            if (instance?.IsCompleted == true || (progress is not null && condition(progress)))
            {
                break;
            }

            await Task.Delay(100, cancellationToken);
        }

        return (instance, progress);
    }

    static SessionTurnSummary? Summary(OrchestrationMetadata turn)
    {
        var input = StoredJson.Deserialize<SessionTurnInput>(turn.SerializedInput);
        var result = StoredJson.Deserialize<SessionTurnResult>(turn.SerializedOutput);
        if (input is null)
        {
            return null;
        }

        var prompt = input.Request.Prompt;
        return new SessionTurnSummary(
            input.Number, input.TurnId, turn.RuntimeStatus.ToString(), prompt.Length <= 200 ? prompt : prompt[..200] + "…",
            result?.Outcome, result?.Reply, result?.Usage, result?.ToolCalls ?? 0, turn.CreatedAt, turn.LastUpdatedAt);
    }

    /// <summary>Every started turn of the session, oldest first.</summary>
    static async Task<List<SessionTurnSummary>> TurnsAsync(DurableTaskClient client, string id, CancellationToken cancellationToken)
    {
        var turns = new List<SessionTurnSummary>();
        await foreach (var t in Sessions(client).TurnsAsync(id, cancellationToken))
        {
            if (Summary(t) is { } summary)
            {
                turns.Add(summary);
            }
        }

        turns.Sort((a, b) => a.Number.CompareTo(b.Number));
        return turns;
    }

    static AgentSessionsClient Sessions(DurableTaskClient client) => new(client);

    static SessionProgress? Progress(OrchestrationMetadata instance) => StoredJson.Deserialize<SessionProgress>(instance.SerializedCustomStatus);

    static SessionLinks Links(HttpRequest request, string id)
    {
        var root = $"{request.Scheme}://{request.Host}{request.PathBase}/{RoutePrefix}/{Uri.EscapeDataString(id)}";
        return new SessionLinks(root, root + "/turns", root + "/cancel-turn", root + "/approvals");
    }

    static IResult SessionNotFound(string id) =>
        Problem(StatusCodes.Status404NotFound, "Agent session not found", $"No agent session has the id '{id}'.", null);

    static WithRetryAfter NotStarted(string id) =>
        new WithRetryAfter(Problem(StatusCodes.Status503ServiceUnavailable, "Agent session has not started yet",
            $"Agent session '{id}' is still waiting to start after {JobEvents.StartWait.TotalSeconds:0} s; try again.", null), 5);
}

/// <summary>Where to follow a session.</summary>
/// <param name="Session">GET the session; DELETE ends it.</param>
/// <param name="Turns">POST a turn; GET the turns, a page at a time.</param>
/// <param name="CancelTurn">POST to cancel the running turn.</param>
/// <param name="Approvals">POST approval decisions for the running turn.</param>
public sealed record SessionLinks(string Session, string Turns, string CancelTurn, string Approvals);

/// <summary>A page of a session's turns.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Turns">Turns after the page's <c>after</c> number, oldest first.</param>
/// <param name="Next">GET the next page; null on the last.</param>
public sealed record SessionTurnsPage(string SessionId, IReadOnlyList<SessionTurnSummary> Turns, string? Next);

/// <summary>The 201 answer to a new session.</summary>
/// <param name="Id">The session id.</param>
/// <param name="AgentId">The agent, when already created.</param>
/// <param name="ThreadId">The thread, when already known.</param>
/// <param name="Links">Where to follow it.</param>
public sealed record SessionStarted(string Id, string? AgentId, string? ThreadId, SessionLinks Links);

/// <summary>The 202 answer to a turn.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="TurnId">The turn's id (GET <see cref="TurnUri"/>; its number comes when it starts).</param>
/// <param name="Queued">True when another turn ran (or the session was starting) when it arrived: it waits its turn.</param>
/// <param name="TurnUri">GET the turn.</param>
/// <param name="SessionUri">GET the session.</param>
public sealed record TurnAccepted(string SessionId, string TurnId, bool Queued, string TurnUri, string SessionUri);

/// <summary>One turn in a session's status.</summary>
/// <param name="Number">Its number.</param>
/// <param name="TurnId">Its id.</param>
/// <param name="RuntimeStatus">Its orchestration's runtime status.</param>
/// <param name="PromptPreview">The message, at most 200 characters.</param>
/// <param name="Outcome">How it ended, once it has.</param>
/// <param name="Reply">What the agent said.</param>
/// <param name="Usage">Its token usage.</param>
/// <param name="ToolCalls">Tool calls answered.</param>
/// <param name="CreatedAt">When it started.</param>
/// <param name="LastUpdatedAt">When it last changed.</param>
public sealed record SessionTurnSummary(
    int Number, string TurnId, string RuntimeStatus, string PromptPreview, JobOutcome? Outcome, string? Reply, TokenUsage? Usage, int ToolCalls,
    DateTimeOffset CreatedAt, DateTimeOffset LastUpdatedAt);

/// <summary>The GET answer for a session.</summary>
/// <param name="Id">The session.</param>
/// <param name="Status"><c>starting</c>, <c>idle</c>, <c>running</c>, <c>ending</c> or <c>ended</c>.</param>
/// <param name="RuntimeStatus">The session orchestration's runtime status.</param>
/// <param name="CreatedAt">When the session started (not its current generation: each turn continues it as new).</param>
/// <param name="LastUpdatedAt">When it last changed.</param>
/// <param name="AgentId">The agent.</param>
/// <param name="ThreadId">The thread.</param>
/// <param name="RunningTurn">The number of the turn running now.</param>
/// <param name="IdleExpiresAt">When an idle session ends itself.</param>
/// <param name="Turns">Its turns, oldest first.</param>
/// <param name="Usage">Token usage of every turn.</param>
/// <param name="Ended">How it ended, once it has.</param>
/// <param name="Links">Where to follow it.</param>
public sealed record AgentSessionStatus(
    string Id, string Status, string RuntimeStatus, DateTimeOffset CreatedAt, DateTimeOffset LastUpdatedAt, string? AgentId, string? ThreadId,
    int? RunningTurn, DateTime? IdleExpiresAt, IReadOnlyList<SessionTurnSummary> Turns, TokenUsage? Usage, AgentSessionResult? Ended, SessionLinks Links);

/// <summary>The GET answer for one turn.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Number">The turn's number.</param>
/// <param name="TurnId">Its id.</param>
/// <param name="RuntimeStatus">Its orchestration's runtime status.</param>
/// <param name="CreatedAt">When it started.</param>
/// <param name="LastUpdatedAt">When it last changed.</param>
/// <param name="Progress">Its live progress (phases, polls, pending approvals).</param>
/// <param name="Result">Its result, once done.</param>
public sealed record SessionTurnStatus(
    string SessionId, int Number, string? TurnId, string RuntimeStatus, DateTimeOffset CreatedAt, DateTimeOffset LastUpdatedAt, JobProgress? Progress, SessionTurnResult? Result);
