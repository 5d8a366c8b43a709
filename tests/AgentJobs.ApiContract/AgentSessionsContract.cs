using System.Net;
using System.Text.Json;
using Xunit;

namespace AgentJobs.ApiContract;

/// <summary>
/// Agent sessions over HTTP (<c>/api/agent-sessions</c>), shared by every host (derive as for <see cref="AgentJobsApiContract"/>).
/// </summary>
public abstract class AgentSessionsContract(IAgentJobsApiHost host) : AgentJobsContractBase(host)
{
    /// <summary>The sessions route.</summary>
    public const string SessionsPath = "api/agent-sessions";

    // A model no host configures: hosts with an embedded agent service run it on their simulated model.
    const string Model = "\"model\": \"simulated-sessions\"";

    /// <summary>Session bodies refused with 400 naming the field.</summary>
    public static TheoryData<string, string> InvalidSessions { get; } = new()
    {
        { "{\"idleTimeoutSeconds\": 0}", "idleTimeoutSeconds" },
        { "{\"tools\": [\"no_such_tool\"]}", "tools" },
        { "{\"bogus\": 1}", "bogus" },
        { "{\"tools\": [\"calculate\"], \"approval\": {\"tools\": [\"get_utc_now\"]}}", "approval.tools" },
        { "[]", "body" },
    };

    async Task<(string Id, JsonElement Body)> StartSessionAsync(string fields = "", string model = Model)
    {
        using var response = await PostAsync(SessionsPath, $"{{{model}, {FastPolling}{(fields.Length > 0 ? ", " + fields : "")}}}");
        var body = await ReadJsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"POST answered {(int)response.StatusCode}: {body}");
        var id = body.GetProperty("id").GetString()!;
        Assert.EndsWith($"/{SessionsPath}/{id}", response.Headers.Location!.ToString(), StringComparison.Ordinal);
        return (id, body);
    }

    async Task<JsonElement> SendTurnAsync(string id, string prompt)
    {
        using var response = await PostAsync($"{SessionsPath}/{id}/turns", $"{{\"prompt\": {JsonSerializer.Serialize(prompt)}}}");
        var body = await ReadJsonAsync(response);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"POST turn answered {(int)response.StatusCode}: {body}");
        return body;
    }

    async Task<JsonElement> GetSessionAsync(string id)
    {
        using var response = await GetAsync($"{SessionsPath}/{id}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await ReadJsonAsync(response);
    }

    async Task<JsonElement> WaitForSessionAsync(string id, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow + JobTimeout;
        while (true)
        {
            var session = await GetSessionAsync(id);
            if (condition(session))
            {
                return session;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Session {id} did not reach the expected state; last: {session}");
            await Task.Delay(100, Token);
        }
    }

    static int Finished(JsonElement session) =>
        session.GetProperty("turns").EnumerateArray().Count(t => t.GetProperty("runtimeStatus").GetString() == "Completed");

    async Task EndAndWaitAsync(string id)
    {
        using (var ended = await SendAsync(HttpMethod.Delete, $"{SessionsPath}/{id}", "", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, ended.StatusCode);
        }

        await WaitForSessionAsync(id, s => s.GetProperty("status").GetString() == "ended");
    }

    /// <summary>
    /// The whole life of a session: created with its thread, two turns sent together run in order on it, each turn
    /// readable by number and by id, and DELETE ends the session with its agent deleted.
    /// </summary>
    [Fact]
    public async Task A_session_runs_its_turns_in_order_and_its_end_deletes_the_agent()
    {
        var (id, started) = await StartSessionAsync();
        Assert.False(string.IsNullOrEmpty(started.GetProperty("threadId").GetString()));

        var first = await SendTurnAsync(id, "first message alpha");
        var second = await SendTurnAsync(id, "second message beta");
        Assert.True(second.GetProperty("queued").GetBoolean(), $"the second turn should wait for the first: {second}");

        var session = await WaitForSessionAsync(id, s => Finished(s) == 2);
        var turns = session.GetProperty("turns").EnumerateArray().ToList();
        Assert.Equal([1, 2], turns.Select(t => t.GetProperty("number").GetInt32()));
        Assert.Equal(first.GetProperty("turnId").GetString(), turns[0].GetProperty("turnId").GetString());
        Assert.Contains("alpha", turns[0].GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.Contains("beta", turns[1].GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.Equal(started.GetProperty("threadId").GetString(), session.GetProperty("threadId").GetString());

        // The turns link lists the turns a page at a time, oldest first.
        var turnsLink = new Uri(session.GetProperty("links").GetProperty("turns").GetString()!).PathAndQuery.TrimStart('/');
        using (var firstPage = await GetAsync($"{turnsLink}?top=1"))
        {
            var page = await ReadJsonAsync(firstPage);
            Assert.Equal(HttpStatusCode.OK, firstPage.StatusCode);
            Assert.Equal(1, Assert.Single(page.GetProperty("turns").EnumerateArray()).GetProperty("number").GetInt32());
            using var secondPage = await GetAsync(new Uri(page.GetProperty("next").GetString()!).PathAndQuery.TrimStart('/'));
            page = await ReadJsonAsync(secondPage);
            Assert.Contains("beta", Assert.Single(page.GetProperty("turns").EnumerateArray()).GetProperty("reply").GetString(), StringComparison.Ordinal);
            Assert.Equal(JsonValueKind.Null, page.GetProperty("next").ValueKind);
        }

        using (var all = await GetAsync(turnsLink))
        {
            Assert.Equal([1, 2], (await ReadJsonAsync(all)).GetProperty("turns").EnumerateArray().Select(t => t.GetProperty("number").GetInt32()));
        }

        foreach (var (query, field) in new[] { ("top=0", "top"), ("top=1001", "top"), ("after=-1", "after"), ("after=x", "after") })
        {
            using var bad = await GetAsync($"{turnsLink}?{query}");
            await AssertProblemAsync(bad, HttpStatusCode.BadRequest, field);
        }

        using (var unknown = await GetAsync($"{SessionsPath}/no-such-session/turns"))
        {
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound, field: null);
        }

        using (var byNumber = await GetAsync($"{SessionsPath}/{id}/turns/1"))
        {
            var turn = await ReadJsonAsync(byNumber);
            Assert.Equal("Completed", turn.GetProperty("result").GetProperty("outcome").GetString());
        }

        using (var byId = await GetAsync($"{SessionsPath}/{id}/turns/{second.GetProperty("turnId").GetString()}"))
        {
            Assert.Equal(2, (await ReadJsonAsync(byId)).GetProperty("number").GetInt32());
        }

        // The list reads each session's own status, which the session updates in the episode after a turn ends (a queue
        // hop later on Azure Storage than the turn's own status), so it is waited for, bounded.
        var listDeadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var listed = await GetAsync($"{SessionsPath}?status=Running&top=200");
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
            var mine = (await ReadJsonAsync(listed)).GetProperty("sessions").EnumerateArray().Single(x => x.GetProperty("id").GetString() == id);
            if (mine.GetProperty("turns").GetInt32() == 2)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < listDeadline, $"the list still shows {mine.GetProperty("turns").GetInt32()} turns");
            await Task.Delay(100, Token);
        }

        await EndAndWaitAsync(id);
        var ended = (await GetSessionAsync(id)).GetProperty("ended");
        Assert.True(ended.GetProperty("agentDeleted").GetBoolean());
        Assert.Equal(2, ended.GetProperty("turns").GetInt32());
        Assert.False(await Host.AgentExistsAsync(session.GetProperty("agentId").GetString()!, Token));

        using (var again = await SendAsync(HttpMethod.Delete, $"{SessionsPath}/{id}", "", null))
        {
            await AssertProblemAsync(again, HttpStatusCode.Conflict, field: null);
        }

        using var late = await PostAsync($"{SessionsPath}/{id}/turns", "{\"prompt\": \"too late\"}");
        await AssertProblemAsync(late, HttpStatusCode.Conflict, field: null);
    }

    /// <summary>cancel-turn stops the running turn; the session stays and takes the next one.</summary>
    /// <summary>
    /// <c>Idempotency-Key</c> on a session and on a turn: a retry answers the first (same session id, same turn id) and
    /// the turn runs once; the same key with another body gets 422 naming the header.
    /// </summary>
    [Fact]
    public async Task A_session_and_a_turn_posted_again_with_their_idempotency_keys_are_made_once()
    {
        var key = Guid.NewGuid().ToString();
        var body = $"{{{Model}, {FastPolling}}}";
        string id;
        using (var first = await PostWithKeyAsync(SessionsPath, body, key))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
            id = (await ReadJsonAsync(first)).GetProperty("id").GetString()!;
        }

        using (var retry = await PostWithKeyAsync(SessionsPath, body, key))
        {
            Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
            Assert.Equal(id, (await ReadJsonAsync(retry)).GetProperty("id").GetString());
        }

        using (var other = await PostWithKeyAsync(SessionsPath, $"{{{Model}, {FastPolling}, \"idleTimeoutSeconds\": 30}}", key))
        {
            await AssertProblemAsync(other, (HttpStatusCode)422, field: "Idempotency-Key");
        }

        var turnKey = Guid.NewGuid().ToString();
        var turn = "{\"prompt\": \"What is 6 * 7?\"}";
        string turnId;
        using (var sent = await PostWithKeyAsync($"{SessionsPath}/{id}/turns", turn, turnKey))
        {
            Assert.Equal(HttpStatusCode.Accepted, sent.StatusCode);
            turnId = (await ReadJsonAsync(sent)).GetProperty("turnId").GetString()!;
        }

        using (var again = await PostWithKeyAsync($"{SessionsPath}/{id}/turns", turn, turnKey))
        {
            Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
            Assert.Equal(turnId, (await ReadJsonAsync(again)).GetProperty("turnId").GetString());
        }

        using (var otherTurn = await PostWithKeyAsync($"{SessionsPath}/{id}/turns", "{\"prompt\": \"Something else\"}", turnKey))
        {
            await AssertProblemAsync(otherTurn, (HttpStatusCode)422, field: "Idempotency-Key");
        }

        // It runs once; sent again after it ran, it is still the same turn, and runs no second time.
        await WaitForSessionAsync(id, s => s.GetProperty("status").GetString() == "idle" && s.GetProperty("turns").GetArrayLength() == 1);
        using (var late = await PostWithKeyAsync($"{SessionsPath}/{id}/turns", turn, turnKey))
        {
            Assert.Equal(HttpStatusCode.Accepted, late.StatusCode);
            Assert.Equal(turnId, (await ReadJsonAsync(late)).GetProperty("turnId").GetString());
        }

        var session = await GetSessionAsync(id);
        Assert.Equal(turnId, Assert.Single(session.GetProperty("turns").EnumerateArray()).GetProperty("turnId").GetString());
        using (var end = await SendAsync(HttpMethod.Delete, $"{SessionsPath}/{id}", "", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, end.StatusCode);
        }
    }

    /// <summary>
    /// A turn's durable instance (<c>{session}:turn:{n}</c>) is not deleted through the job API: 409 naming the session.
    /// Ending a session with a literal <c>null</c> body: 400 naming the body, as its error says it must be empty or an object.
    /// </summary>
    [Fact]
    public async Task A_turn_is_not_deleted_as_a_job_and_a_null_end_body_gets_400()
    {
        var (id, _) = await StartSessionAsync();
        await SendTurnAsync(id, "What is 6 * 7?");
        await WaitForSessionAsync(id, s => s.GetProperty("status").GetString() == "idle" && s.GetProperty("turns").GetArrayLength() == 1);

        using (var delete = await SendAsync(HttpMethod.Delete, $"{JobsPath}/{id}:turn:000001", "", null))
        {
            var problem = await AssertProblemAsync(delete, HttpStatusCode.Conflict, field: null);
            Assert.Contains($"agent session '{id}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var nullBody = await SendAsync(HttpMethod.Delete, $"{SessionsPath}/{id}", "null", "application/json"))
        {
            await AssertProblemAsync(nullBody, HttpStatusCode.BadRequest, "body");
        }

        using (var end = await SendAsync(HttpMethod.Delete, $"{SessionsPath}/{id}", "", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, end.StatusCode);
        }
    }

    [Fact]
    public async Task Cancel_turn_stops_the_running_turn_and_the_session_goes_on()
    {
        // The host's model, on which Host.LongRunningPrompt keeps its run in progress until cancelled (the simulated
        // model would finish it in a moment, and the cancel would race the run's end).
        var (id, _) = await StartSessionAsync(model: $"\"model\": \"{Host.ConfiguredModel}\"");
        using (var nothing = await PostAsync($"{SessionsPath}/{id}/cancel-turn", null))
        {
            await AssertProblemAsync(nothing, HttpStatusCode.Conflict, field: null);
        }

        using (var notJson = await SendAsync(HttpMethod.Post, $"{SessionsPath}/{id}/cancel-turn", "x", "text/plain"))
        {
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, notJson.StatusCode);
        }

        // No Content-Type (what another origin's page can send): 415 on every POST of a session, with a body or without.
        foreach (var (path, body) in new[]
        {
            (SessionsPath, ""),
            (SessionsPath, $"{{{Model}}}"),
            ($"{SessionsPath}/{id}/turns", "{\"prompt\": \"no-cors\"}"),
            ($"{SessionsPath}/{id}/cancel-turn", ""),
            ($"{SessionsPath}/{id}/approvals", "{\"callId\": \"call_x\", \"approved\": true}"),
        })
        {
            using var noType = await SendAsync(HttpMethod.Post, path, body, null);
            await AssertProblemAsync(noType, HttpStatusCode.UnsupportedMediaType, field: null);
        }

        Assert.Empty((await GetSessionAsync(id)).GetProperty("turns").EnumerateArray());

        // Asked to end, a session takes no more turns (the end wins over anything queued).
        var (ending, _) = await StartSessionAsync();
        using (var end = await SendAsync(HttpMethod.Delete, $"{SessionsPath}/{ending}", "", null))
        {
            Assert.Equal(HttpStatusCode.Accepted, end.StatusCode);
        }

        using (var afterEnd = await PostAsync($"{SessionsPath}/{ending}/turns", "{\"prompt\": \"after the end\"}"))
        {
            await AssertProblemAsync(afterEnd, HttpStatusCode.Conflict, field: null);
        }

        await SendTurnAsync(id, Host.LongRunningPrompt);
        await WaitForSessionAsync(id, s => s.GetProperty("status").GetString() == "running");
        using (var cancel = await PostAsync($"{SessionsPath}/{id}/cancel-turn", "{\"reason\": \"too slow\"}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        var session = await WaitForSessionAsync(id, s => Finished(s) == 1);
        Assert.Equal("Cancelled", session.GetProperty("turns")[0].GetProperty("outcome").GetString());

        await SendTurnAsync(id, "after the cancel gamma");
        session = await WaitForSessionAsync(id, s => Finished(s) == 2);
        Assert.Contains("gamma", session.GetProperty("turns")[1].GetProperty("reply").GetString(), StringComparison.Ordinal);
        await EndAndWaitAsync(id);
    }

    /// <summary>A turn's held tool call is decided through the session's approvals endpoint.</summary>
    [Fact]
    public async Task A_turns_held_tool_call_is_approved_through_the_session()
    {
        var (id, _) = await StartSessionAsync("\"tools\": [\"calculate\"], \"approval\": {\"tools\": [\"calculate\"]}");
        await SendTurnAsync(id, "Please use calculate with {\"expression\": \"6 * 7\"}");

        string? callId = null;
        var deadline = DateTime.UtcNow + JobTimeout;
        while (callId is null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the turn never waited for approval");
            using var turn = await GetAsync($"{SessionsPath}/{id}/turns/1");
            if (turn.StatusCode == HttpStatusCode.OK && (await ReadJsonAsync(turn)).GetProperty("progress") is { ValueKind: JsonValueKind.Object } p
                && p.TryGetProperty("pendingApprovals", out var pending) && pending.ValueKind == JsonValueKind.Array && pending.GetArrayLength() > 0)
            {
                callId = pending[0].GetProperty("callId").GetString();
            }
            else
            {
                await Task.Delay(100, Token);
            }
        }

        using (var decided = await PostAsync($"{SessionsPath}/{id}/approvals", $"{{\"callId\": \"{callId}\", \"approved\": true}}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, decided.StatusCode);
        }

        var session = await WaitForSessionAsync(id, s => Finished(s) == 1);
        Assert.Contains("42", session.GetProperty("turns")[0].GetProperty("reply").GetString(), StringComparison.Ordinal);
        await EndAndWaitAsync(id);
    }

    /// <summary>Bad session bodies: 400 naming the field.</summary>
    [Theory]
    [MemberData(nameof(InvalidSessions))]
    public async Task A_bad_session_gets_400_naming_the_field(string body, string field)
    {
        using var response = await PostAsync(SessionsPath, body);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    /// <summary>Unknown sessions: 404 on every route; a turn without a prompt: 400.</summary>
    [Fact]
    public async Task Unknown_sessions_get_404_and_a_turn_without_a_prompt_400()
    {
        var unknown = $"{SessionsPath}/no-such-session-{Guid.NewGuid():N}";
        using (var get = await GetAsync(unknown))
        {
            await AssertProblemAsync(get, HttpStatusCode.NotFound, field: null);
        }

        using (var byNumber = await GetAsync(unknown + "/turns/1"))
        {
            var problem = await AssertProblemAsync(byNumber, HttpStatusCode.NotFound, field: null);
            Assert.Equal("Agent session not found", problem.GetProperty("title").GetString());
        }

        using (var turn = await PostAsync(unknown + "/turns", "{\"prompt\": \"hi\"}"))
        {
            await AssertProblemAsync(turn, HttpStatusCode.NotFound, field: null);
        }

        using (var end = await SendAsync(HttpMethod.Delete, unknown, "", null))
        {
            await AssertProblemAsync(end, HttpStatusCode.NotFound, field: null);
        }

        using (var empty = await PostAsync(unknown + "/turns", "{}"))
        {
            await AssertProblemAsync(empty, HttpStatusCode.BadRequest, "prompt");
        }

        using var badList = await GetAsync($"{SessionsPath}?top=0");
        var listProblem = await AssertProblemAsync(badList, HttpStatusCode.BadRequest, "top");
        Assert.Equal("Invalid agent session query", listProblem.GetProperty("title").GetString());
    }

    /// <summary>
    /// A session is dated by when it started, not by its latest turn (each turn continues it as new, which gives the
    /// instance a new created time): the list keeps it behind a session started after it, and the date filters see
    /// its start.
    /// </summary>
    [Fact]
    public async Task A_session_keeps_its_start_time_after_a_turn_in_its_status_and_the_list()
    {
        var (older, _) = await StartSessionAsync();
        var olderCreated = (await GetSessionAsync(older)).GetProperty("createdAt").GetDateTimeOffset();
        await Task.Delay(1100, Token); // the list's date filters are read to the second on some backends
        var (newer, _) = await StartSessionAsync();
        var newerCreated = (await GetSessionAsync(newer)).GetProperty("createdAt").GetDateTimeOffset();

        await SendTurnAsync(older, "a turn after the newer session started");
        var afterTurn = await WaitForSessionAsync(older, s => Finished(s) == 1 && s.GetProperty("status").GetString() == "idle");
        Assert.Equal(olderCreated, afterTurn.GetProperty("createdAt").GetDateTimeOffset());

        using (var listed = await GetAsync($"{SessionsPath}?status=Running&top=200"))
        {
            var ids = (await ReadJsonAsync(listed)).GetProperty("sessions").EnumerateArray().Select(x => x.GetProperty("id").GetString()).ToList();
            Assert.True(ids.IndexOf(newer) >= 0 && ids.IndexOf(newer) < ids.IndexOf(older), $"newest first: {string.Join(", ", ids)}");
        }

        var from = Uri.EscapeDataString(newerCreated.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        using (var fromNewer = await GetAsync($"{SessionsPath}?createdFrom={from}&top=200"))
        {
            var ids = (await ReadJsonAsync(fromNewer)).GetProperty("sessions").EnumerateArray().Select(x => x.GetProperty("id").GetString()).ToList();
            Assert.Contains(newer, ids);
            Assert.DoesNotContain(older, ids);
        }

        await EndAndWaitAsync(older);
        await EndAndWaitAsync(newer);
    }
}
