using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;

namespace AgentJobs.ApiContract;

/// <summary>
/// The request/response contract of the agent-jobs HTTP API, shared by every host. A host's test project derives a
/// concrete class from this one and hands it an <see cref="IAgentJobsApiHost"/> (typically a class fixture):
/// <code>
/// public sealed class MyHostContractTests(MyHost host) : AgentJobsApiContract(host), IClassFixture&lt;MyHost&gt;;
/// </code>
/// </summary>
public abstract class AgentJobsApiContract(IAgentJobsApiHost host) : AgentJobsContractBase(host)
{

    /// <summary>Bodies that must be refused with 400 naming the field (JSON text, expected <c>field</c>).</summary>
    public static TheoryData<string, string> InvalidBodies { get; } = new()
    {
        { "", "body" },
        { "{\"prompt\": \"hi\"", "body" },
        { "not json at all", "body" },
        { "[]", "body" },
        { "\"x\"", "body" },
        { "null", "body" },
        { "42", "body" },
        { "{}", "prompt" },
        { "{\"prompt\": \"\"}", "prompt" },
        { "{\"prompt\": \"   \"}", "prompt" },
        { "{\"prompt\": null}", "prompt" },
        { "{\"prompt\": 5}", "prompt" },
        { "{\"prompt\": \"hi\", \"promt\": \"typo\"}", "promt" },
        { "{\"prompt\": \"hi\", \"tools\": [\"no_such_tool\"]}", "tools" },
        { "{\"prompt\": \"hi\", \"tools\": [\"calculate\", \"calculate\"]}", "tools" },
        { "{\"prompt\": \"hi\", \"tools\": \"calculate\"}", "tools" },
        { "{\"prompt\": \"hi\", \"maxDurationSeconds\": 0}", "maxDurationSeconds" },
        { "{\"prompt\": \"hi\", \"maxDurationSeconds\": 86401}", "maxDurationSeconds" },
        { "{\"prompt\": \"hi\", \"maxDurationSeconds\": \"ten\"}", "maxDurationSeconds" },
        { "{\"prompt\": \"hi\", \"maxDurationSeconds\": \"30\"}", "maxDurationSeconds" },
        { "{\"prompt\": \"hi\", \"polling\": {\"initialDelayMs\": 5}}", "polling.initialDelayMs" },
        { "{\"prompt\": \"hi\", \"polling\": {\"initialDelayMs\": 1000, \"maxDelayMs\": 500}}", "polling.maxDelayMs" },
        { "{\"prompt\": \"hi\", \"polling\": {\"backoffFactor\": 0.5}}", "polling.backoffFactor" },
        { "{\"prompt\": \"hi\", \"polling\": {\"pollsPerGeneration\": 0}}", "polling.pollsPerGeneration" },
        { "{\"prompt\": \"hi\", \"polling\": {\"streamWindowSeconds\": 121}}", "polling.streamWindowSeconds" },
        { "{\"prompt\": \"hi\", \"polling\": {\"streamWindowSeconds\": -1}}", "polling.streamWindowSeconds" },
        { "{\"prompt\": \"hi\", \"polling\": {\"everyMs\": 100}}", "polling.everyMs" },
        { "{\"prompt\": \"hi\", \"threadId\": \"thread_1\", \"deleteThread\": true}", "deleteThread" },
    };

    /// <summary>
    /// Bodies the binder alone would accept or report vaguely: a field given twice (names compare ignoring case, as
    /// the binder matches them, at any depth), text with no visible character, and text that is not valid Unicode.
    /// Each must be refused with 400 naming the field, with a detail containing the phrase.
    /// </summary>
    public static TheoryData<string, string, string> StrictBodies { get; } = new()
    {
        { "{\"prompt\": \"x\", \"Prompt\": \"y\"}", "prompt", "more than once" },
        { "{\"prompt\": \"x\", \"prompt\": \"x\"}", "prompt", "more than once" },
        { "{\"PROMPT\": \"x\", \"tools\": [], \"Tools\": [\"calculate\"]}", "tools", "more than once" },
        { "{\"prompt\": \"x\", \"polling\": {\"initialDelayMs\": 20, \"INITIALDELAYMS\": 30}}", "polling.initialDelayMs", "more than once" },
        { "{\"prompt\": \"\\u0000\"}", "prompt", "no visible characters" },
        { "{\"prompt\": \"\\u0000\\u0000\\u0000\"}", "prompt", "no visible characters" },
        { "{\"prompt\": \"\\u200b\\u200c\\u200d\"}", "prompt", "no visible characters" },
        { "{\"prompt\": \"\\u2060\\ufeff\"}", "prompt", "no visible characters" },
        { "{\"prompt\": \"\\u00a0\\u3000\\u2028\\t\\r\\n\"}", "prompt", "no visible characters" },
        { "{\"prompt\": \"\\u0007\\u001b\\u00ad\\u0301\"}", "prompt", "no visible characters" },
        { "{\"prompt\": \"hi\", \"instructions\": \"\\u200b \"}", "instructions", "no visible characters" },
        { "{\"prompt\": \"hi\", \"agentName\": \"\\ufeff\"}", "agentName", "no visible characters" },
        { "{\"prompt\": \"hi\", \"model\": \"\\u0000\"}", "model", "no visible characters" },
        { "{\"prompt\": \"hi\", \"threadId\": \"\\u2060\"}", "threadId", "no visible characters" },
        { "{\"prompt\": \"\\ud800\"}", "prompt", "not valid Unicode" },
        { "{\"prompt\": \"ok \\udc00 ok\"}", "prompt", "not valid Unicode" },
        { "{\"prompt\": \"\\ud800\\ud800\\udc00\"}", "prompt", "not valid Unicode" },
        { "{\"prompt\": \"hi\", \"instructions\": \"be \\udbff\"}", "instructions", "not valid Unicode" },
        { "{\"prompt\": \"hi\", \"tools\": [\"calculate\", \"\\ud83d\"]}", "tools[1]", "not valid Unicode" },
    };

    /// <summary>POST a valid request: 202, a Location to poll, and the links document.</summary>
    [Fact]
    public async Task Start_valid_request_returns_202_with_location_and_links()
    {
        using var response = await PostAsync(JobsPath, Job(Host.CompletingPrompt));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var links = await ReadJsonAsync(response);
        var id = links.GetProperty("id").GetString();
        Assert.False(string.IsNullOrWhiteSpace(id));
        var statusUri = new Uri(links.GetProperty("statusQueryGetUri").GetString()!);
        var cancelUri = new Uri(links.GetProperty("cancelPostUri").GetString()!);
        Assert.True(statusUri.IsAbsoluteUri);
        Assert.EndsWith($"/{JobsPath}/{Uri.EscapeDataString(id!)}", statusUri.AbsolutePath, StringComparison.Ordinal);
        Assert.Equal(statusUri.AbsoluteUri + "/cancel", cancelUri.AbsoluteUri);
        Assert.Equal(statusUri, response.Headers.Location);

        // The Location answers, and the job runs to completion.
        var done = await WaitForAsync(id!, s => IsFinished(s));
        Assert.Equal("Completed", done.GetProperty("runtimeStatus").GetString());
    }

    /// <summary>Every malformed or invalid body: 400 problem details whose <c>field</c> names the culprit.</summary>
    [Theory]
    [MemberData(nameof(InvalidBodies))]
    public async Task Start_invalid_request_returns_400_problem_naming_the_field(string body, string field)
    {
        using var response = await PostAsync(JobsPath, body);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    /// <summary>A value of the wrong JSON type: the detail says what the field takes, in JSON words, and what came (no .NET type names).</summary>
    [Theory]
    [InlineData("{\"prompt\": 5}", "prompt", "'prompt' must be a string; got 5.")]
    [InlineData("{\"prompt\": \"hi\", \"tools\": \"calculate\"}", "tools", "'tools' must be an array of strings; got \"calculate\".")]
    [InlineData("{\"prompt\": \"hi\", \"tools\": [\"calculate\", 5]}", "tools[1]", "'tools[1]' must be a string; got 5.")]
    [InlineData("{\"prompt\": \"hi\", \"maxDurationSeconds\": 1.5}", "maxDurationSeconds", "'maxDurationSeconds' must be a whole number; got 1.5.")]
    [InlineData("{\"prompt\": \"hi\", \"polling\": {\"initialDelayMs\": \"a\"}}", "polling.initialDelayMs", "'polling.initialDelayMs' must be a whole number; got \"a\".")]
    [InlineData("{\"prompt\": \"hi\", \"tools\": [\"calculate\"], \"approval\": {\"tools\": [\"*\"], \"onTimeout\": 5}}", "approval.onTimeout", "'approval.onTimeout' must be a string (reject, cancel); got 5.")]
    public async Task Start_with_a_value_of_the_wrong_type_says_what_the_field_takes(string body, string field, string detail)
    {
        using var response = await PostAsync(JobsPath, body);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
    }

    /// <summary>Duplicated fields, invisible text and invalid Unicode: 400 naming the field, with a detail that says which.</summary>
    [Theory]
    [MemberData(nameof(StrictBodies))]
    public async Task Start_duplicate_invisible_or_invalid_unicode_text_returns_400_naming_the_field(string body, string field, string phrase)
    {
        using var response = await PostAsync(JobsPath, body);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        Assert.Contains(phrase, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    /// <summary>Visible text keeps its invisible characters: a zero-width joiner inside an emoji and a trailing NUL do not make a prompt invalid.</summary>
    [Fact]
    public async Task Start_prompt_with_visible_text_among_invisible_characters_is_accepted()
    {
        using var response = await PostAsync(JobsPath, Job(Host.CompletingPrompt + " \U0001F469\u200D\U0001F4BB\u0000"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await WaitForAsync((await ReadJsonAsync(response)).GetProperty("id").GetString()!, IsFinished);
    }

    /// <summary>A JSON body declared as something else than JSON, or with a malformed media type: 415 problem details.</summary>
    [Theory]
    [InlineData("text/plain")]
    [InlineData("text/plain; charset=utf-8")]
    [InlineData("text/html")]
    [InlineData("application/octet-stream")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData("text/json")]
    [InlineData("application/json; charset=latin1")]
    [InlineData("application/json garbage")]
    [InlineData("json")]
    [InlineData("application/")]
    [InlineData("application/json, text/plain")]
    public async Task Start_with_a_content_type_that_is_not_json_returns_415_problem(string contentType)
    {
        using var response = await SendAsync(HttpMethod.Post, JobsPath, Job(Host.CompletingPrompt), contentType);
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, field: null);
    }

    /// <summary>JSON media types, with or without a UTF-8 charset: accepted.</summary>
    [Theory]
    [InlineData("application/json")]
    [InlineData("application/json; charset=utf-8")]
    [InlineData("Application/JSON; charset=\"UTF-8\"")]
    [InlineData("application/vnd.agent-job+json")]
    [InlineData("application/merge-patch+json; charset=utf-8")]
    public async Task Start_with_a_json_content_type_is_accepted(string? contentType)
    {
        using var response = await SendAsync(HttpMethod.Post, JobsPath, Job(Host.CompletingPrompt), contentType);
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{contentType}: {(int)response.StatusCode} {text}");
        using var links = JsonDocument.Parse(text);
        await WaitForAsync(links.RootElement.GetProperty("id").GetString()!, IsFinished);
    }

    /// <summary>
    /// A POST with no Content-Type is what a page on another origin sends without asking the server first
    /// (<c>fetch(url, {mode: "no-cors", method: "POST", body: new Blob([json])})</c>): refused with 415 problem details
    /// on starting a job, cancelling one (with a body or without) and deciding a call, and nothing changes.
    /// </summary>
    [Fact]
    public async Task Post_without_a_content_type_returns_415_and_changes_nothing()
    {
        var marker = $"no-content-type-{Guid.NewGuid():N}";
        using (var start = await SendAsync(HttpMethod.Post, JobsPath, Job($"{Host.CompletingPrompt} {marker}"), contentType: null))
        {
            var problem = await AssertProblemAsync(start, HttpStatusCode.UnsupportedMediaType, field: null);
            Assert.Contains("Content-Type", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        using (var list = await GetAsync($"{JobsPath}?top=200"))
        {
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            Assert.DoesNotContain(marker, await list.Content.ReadAsStringAsync(Token), StringComparison.Ordinal);
        }

        var id = await StartAsync(Host.LongRunningPrompt);
        try
        {
            await WaitForAsync(id, IsPolling);
            foreach (var (path, body) in new[]
            {
                ($"{JobsPath}/{id}/cancel", ""),
                ($"{JobsPath}/{id}/cancel", "{\"reason\": \"no-cors\"}"),
                ($"{JobsPath}/{id}/approvals", "{\"callId\": \"call_x\", \"approved\": true}"),
            })
            {
                using var response = await SendAsync(HttpMethod.Post, path, body, contentType: null);
                await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, field: null);
            }

            var status = await GetStatusAsync(id);
            Assert.Equal("Running", status.GetProperty("runtimeStatus").GetString());
        }
        finally
        {
            await CancelAndWaitAsync(id);
        }
    }

    /// <summary>
    /// <c>Idempotency-Key</c>: the same key with the same request (formatted differently, or sent by four clients at
    /// once) answers the first job again, with its id and Location, and makes no second job; the same key with another
    /// body gets 422 naming the header; a malformed key gets 400.
    /// </summary>
    [Fact]
    public async Task Start_with_an_idempotency_key_answers_the_first_job_again_and_another_body_gets_422()
    {
        var marker = $"idempotent-{Guid.NewGuid():N}";
        var key = Guid.NewGuid().ToString();
        var body = Job($"{Host.CompletingPrompt} {marker}");

        string id;
        string? location;
        using (var first = await PostWithKeyAsync(JobsPath, body, key))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            id = (await ReadJsonAsync(first)).GetProperty("id").GetString()!;
            location = first.Headers.Location?.ToString();
        }

        var reformatted = "\n  " + body.Replace("\": ", "\" :\t", StringComparison.Ordinal) + "  \n"; // whitespace only (the prompt has no '": ')
        foreach (var again in new[] { body, reformatted })
        {
            using var retry = await PostWithKeyAsync(JobsPath, again, key);
            Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
            Assert.Equal(id, (await ReadJsonAsync(retry)).GetProperty("id").GetString());
            Assert.Equal(location, retry.Headers.Location?.ToString());
        }

        using (var other = await PostWithKeyAsync(JobsPath, Job($"{Host.CompletingPrompt} {marker} and something else"), key))
        {
            var problem = await AssertProblemAsync(other, (HttpStatusCode)422, field: "Idempotency-Key");
            Assert.Contains(id, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // Four clients retrying at once with a new key: one job, one id.
        var raceKey = Guid.NewGuid().ToString();
        var raceBody = Job($"{Host.CompletingPrompt} {marker} raced");
        var ids = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            using var response = await PostWithKeyAsync(JobsPath, raceBody, raceKey);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            return (await ReadJsonAsync(response)).GetProperty("id").GetString();
        }));
        Assert.Single(ids.Distinct());

        await WaitForAsync(id, IsFinished);
        await WaitForAsync(ids[0]!, IsFinished);
        using (var list = await GetAsync($"{JobsPath}?top=200"))
        {
            var jobs = (await ReadJsonAsync(list)).GetProperty("jobs").EnumerateArray()
                .Where(j => j.GetProperty("promptPreview").GetString()?.Contains(marker, StringComparison.Ordinal) == true).ToList();
            Assert.Equal(2, jobs.Count);
        }

        foreach (var bad in new[] { "", new string('k', 256), "tab\there", "\"unterminated" + new string('x', 300) })
        {
            using var response = await PostWithKeyAsync(JobsPath, body, bad);
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, field: "Idempotency-Key");
        }
    }

    /// <summary>A prompt one character over the host's limit: 400 naming <c>prompt</c>; at the limit it is accepted.</summary>
    [Fact]
    public async Task Start_prompt_over_the_limit_returns_400_and_at_the_limit_is_accepted()
    {
        using (var over = await PostAsync(JobsPath, Job(new string('a', Host.MaxPromptLength + 1))))
        {
            await AssertProblemAsync(over, HttpStatusCode.BadRequest, "prompt");
        }

        using var at = await PostAsync(JobsPath, Job(new string('a', Host.MaxPromptLength)));
        Assert.Equal(HttpStatusCode.Accepted, at.StatusCode);
        var id = (await ReadJsonAsync(at)).GetProperty("id").GetString()!;
        await WaitForAsync(id, IsFinished);
    }

    /// <summary>GET of an id no job has: 404 problem details.</summary>
    [Fact]
    public async Task Get_unknown_job_returns_404_problem()
    {
        using var response = await GetAsync($"{JobsPath}/no-such-job-{Guid.NewGuid():N}");
        await AssertProblemAsync(response, HttpStatusCode.NotFound, field: null);
    }

    /// <summary>GET of a running job: 200 with its runtime status and live progress, no result yet.</summary>
    [Fact]
    public async Task Get_running_job_returns_200_with_runtime_status_and_progress()
    {
        var id = await StartAsync(Host.LongRunningPrompt);
        try
        {
            static int Polls(JsonElement s) => s.GetProperty("progress").GetProperty("polls").GetInt32();
            var status = await WaitForAsync(id, s => IsPolling(s) && Polls(s) >= 1);

            Assert.Equal(id, status.GetProperty("id").GetString());
            var progress = status.GetProperty("progress");
            Assert.False(string.IsNullOrEmpty(progress.GetProperty("agentId").GetString()));
            Assert.False(string.IsNullOrEmpty(progress.GetProperty("runId").GetString()));

            // The count is live: it grows between reads while the poller works, not only between poller calls.
            var first = Polls(status);
            var later = await WaitForAsync(id, s => IsPolling(s) && Polls(s) > first);
            Assert.True(Polls(later) > first);
            Assert.True(IsNull(status, "result"));
            Assert.EndsWith($"/{JobsPath}/{id}", status.GetProperty("links").GetProperty("statusQueryGetUri").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await CancelAndWaitAsync(id);
        }
    }

    /// <summary>A job that names no model runs on the configured one (<c>AgentService__Model</c>), settled when it is accepted.</summary>
    [Fact]
    public async Task A_job_without_a_model_creates_its_agent_with_the_configured_model()
    {
        Assert.NotEqual("gpt-4o-mini", Host.ConfiguredModel); // the built-in default, which proves nothing
        var id = await StartAsync(Host.LongRunningPrompt);
        try
        {
            var status = await WaitForAsync(id, IsPolling);
            var agentId = status.GetProperty("progress").GetProperty("agentId").GetString()!;
            Assert.Equal(Host.ConfiguredModel, await Host.AgentModelAsync(agentId, TestContext.Current.CancellationToken));
        }
        finally
        {
            await CancelAndWaitAsync(id);
        }
    }

    /// <summary>GET of a completed job: the result with the agent's reply, and the agent deleted.</summary>
    [Fact]
    public async Task Get_completed_job_returns_result_with_reply()
    {
        var id = await StartAsync(Host.CompletingPrompt);
        var status = await WaitForAsync(id, IsFinished);

        Assert.Equal("Completed", status.GetProperty("runtimeStatus").GetString());
        Assert.Equal("Done", status.GetProperty("progress").GetProperty("phase").GetString());
        var result = status.GetProperty("result");
        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        Assert.False(string.IsNullOrWhiteSpace(result.GetProperty("reply").GetString()));
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
        Assert.False(await Host.AgentExistsAsync(result.GetProperty("agentId").GetString()!, Token));
    }

    /// <summary>Cancel of an id no job has: 404 problem details.</summary>
    [Fact]
    public async Task Cancel_unknown_job_returns_404_problem()
    {
        using var response = await PostAsync($"{JobsPath}/no-such-job-{Guid.NewGuid():N}/cancel", null);
        await AssertProblemAsync(response, HttpStatusCode.NotFound, field: null);
    }

    /// <summary>Cancel of a running job: 202 with links, then the job ends Cancelled and its agent is deleted.</summary>
    [Fact]
    public async Task Cancel_running_job_returns_202_and_the_job_ends_cancelled_with_the_agent_deleted()
    {
        var id = await StartAsync(Host.LongRunningPrompt);
        var running = await WaitForAsync(id, IsPolling);
        var agentId = running.GetProperty("progress").GetProperty("agentId").GetString()!;
        Assert.True(await Host.AgentExistsAsync(agentId, Token));

        using (var response = await PostAsync($"{JobsPath}/{id}/cancel", "{\"reason\": \"contract test\"}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var links = await ReadJsonAsync(response);
            Assert.Equal(id, links.GetProperty("id").GetString());
        }

        var done = await WaitForAsync(id, IsFinished);
        Assert.Equal("Completed", done.GetProperty("runtimeStatus").GetString());
        var result = done.GetProperty("result");
        Assert.Equal("Cancelled", result.GetProperty("outcome").GetString());
        Assert.Contains("contract test", result.GetProperty("failure").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());
        Assert.Equal(agentId, result.GetProperty("agentId").GetString());
        Assert.False(await Host.AgentExistsAsync(agentId, Token));
    }

    /// <summary>Cancel of a finished job: 409 problem details.</summary>
    [Fact]
    public async Task Cancel_finished_job_returns_409_problem()
    {
        var id = await StartAsync(Host.CompletingPrompt);
        await WaitForAsync(id, IsFinished);

        using var response = await PostAsync($"{JobsPath}/{id}/cancel", null);
        await AssertProblemAsync(response, HttpStatusCode.Conflict, field: null);
    }

    /// <summary>Cancel whose body is declared as something else than JSON: 415; the job keeps running. No body needs no Content-Type.</summary>
    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/octet-stream")]
    [InlineData("application/json;;; =")]
    public async Task Cancel_with_a_body_that_is_not_json_returns_415_and_the_job_keeps_running(string contentType)
    {
        var id = await StartAsync(Host.LongRunningPrompt);
        try
        {
            await WaitForAsync(id, IsPolling);
            using var response = await SendAsync(HttpMethod.Post, $"{JobsPath}/{id}/cancel", "{\"reason\": \"wrong type\"}", contentType);
            await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, field: null);

            var status = await GetStatusAsync(id);
            Assert.Equal("Running", status.GetProperty("runtimeStatus").GetString());
        }
        finally
        {
            await CancelAndWaitAsync(id);
        }
    }

    /// <summary>Cancel with a body that is not a cancel request: 400 problem details; the job keeps running.</summary>
    [Theory]
    [InlineData("not json", "body")]
    [InlineData("[1, 2]", "body")]
    [InlineData("{\"why\": \"typo\"}", "why")]
    [InlineData("{\"reason\": 5}", "reason")]
    [InlineData("{\"reason\": \"a\", \"Reason\": \"b\"}", "reason")]
    [InlineData("{\"reason\": \"\\ud800\"}", "reason")]
    [InlineData("{\"reason\": \"\\u200b\\u0000\"}", "reason")]
    [InlineData("null", "body")]
    public async Task Cancel_with_malformed_body_returns_400_problem(string body, string field)
    {
        var id = await StartAsync(Host.LongRunningPrompt);
        try
        {
            await WaitForAsync(id, IsPolling);
            using var response = await PostAsync($"{JobsPath}/{id}/cancel", body);
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);

            var status = await GetStatusAsync(id);
            Assert.Equal("Running", status.GetProperty("runtimeStatus").GetString());
        }
        finally
        {
            await CancelAndWaitAsync(id);
        }
    }

    static bool IsNull(JsonElement element, string property) =>
        !element.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null;
}
