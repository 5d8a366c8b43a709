using System.Net;
using System.Text.Json;
using Xunit;

namespace AgentJobs.ApiContract;

/// <summary>
/// The operations endpoints every host serves with the same handlers: <c>DELETE /api/agent-jobs/{id}</c> (purge one
/// finished job) and the batch API <c>/api/agent-batches</c>. Derive it like <see cref="AgentJobsApiContract"/>.
/// </summary>
public abstract class AgentJobsOperationsContract(IAgentJobsApiHost host) : AgentJobsContractBase(host)
{

    /// <summary>The batch collection path.</summary>
    public const string BatchesPath = "api/agent-batches";

    /// <summary>Batch bodies that must be refused with 400 naming the field.</summary>
    public static TheoryData<string, string> InvalidBatches { get; } = new()
    {
        { "", "body" },
        { "{}", "prompts" },
        { "{\"prompts\": []}", "prompts" },
        { "{\"prompts\": \"hi\"}", "prompts" },
        { "{\"prompts\": [\"a\", \"\"]}", "prompts[1]" },
        { "{\"prompts\": [\"a\", null]}", "prompts[1]" },
        { "{\"prompts\": [\"a\"], \"prompt\": \"typo\"}", "prompt" },
        { "{\"prompts\": [\"a\"], \"maxParallel\": 0}", "maxParallel" },
        { "{\"prompts\": [\"a\"], \"maxParallel\": 101}", "maxParallel" },
        { "{\"prompts\": [\"a\"], \"tools\": [\"no_such_tool\"]}", "tools" },
        { "{\"prompts\": [\"a\"], \"maxDurationSeconds\": 0}", "maxDurationSeconds" },
        { "{\"prompts\": [\"a\"], \"threadId\": \"thread_1\"}", "threadId" },
        { "{\"prompts\": [\"a\"], \"polling\": {\"initialDelayMs\": 5}}", "polling.initialDelayMs" },
    };

    /// <summary>DELETE of a finished job: 200 with the instances purged (the job and at least one poller), then GET is 404.</summary>
    [Fact]
    public async Task Delete_finished_job_purges_it_and_its_pollers()
    {
        var id = await StartAsync(Host.CompletingPrompt);
        await WaitForAsync(id, IsFinished);

        using (var response = await SendAsync(HttpMethod.Delete, $"{JobsPath}/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var purged = await ReadJsonAsync(response);
            Assert.Equal(id, purged.GetProperty("id").GetString());
            Assert.True(purged.GetProperty("purgedInstances").GetInt32() >= 2, $"expected the job and its poller: {purged}");
        }

        using var gone = await GetAsync($"{JobsPath}/{id}");
        await AssertProblemAsync(gone, HttpStatusCode.NotFound, field: null);
        using var again = await SendAsync(HttpMethod.Delete, $"{JobsPath}/{id}");
        await AssertProblemAsync(again, HttpStatusCode.NotFound, field: null);
    }

    /// <summary>DELETE of a running job: 409 and the job keeps running; of an unknown id: 404.</summary>
    [Fact]
    public async Task Delete_running_job_returns_409_and_unknown_returns_404()
    {
        var id = await StartAsync(Host.LongRunningPrompt);
        try
        {
            await WaitForAsync(id, IsPolling);
            using (var response = await SendAsync(HttpMethod.Delete, $"{JobsPath}/{id}"))
            {
                await AssertProblemAsync(response, HttpStatusCode.Conflict, field: null);
            }

            Assert.Equal("Running", (await GetStatusAsync(id)).GetProperty("runtimeStatus").GetString());
            using var unknown = await SendAsync(HttpMethod.Delete, $"{JobsPath}/no-such-job-{Guid.NewGuid():N}");
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound, field: null);
        }
        finally
        {
            await CancelAndWaitAsync(id);
        }
    }

    /// <summary>Every invalid batch: 400 problem details naming the field.</summary>
    [Theory]
    [MemberData(nameof(InvalidBatches))]
    public async Task Start_invalid_batch_returns_400_problem_naming_the_field(string body, string field)
    {
        using var response = await PostAsync(BatchesPath, body);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    /// <summary>A batch body that is not JSON: 415, as on every other endpoint, and nothing starts.</summary>
    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=latin1")]
    [InlineData(null)]
    public async Task Start_batch_with_a_body_that_is_not_json_returns_415(string? contentType)
    {
        using var response = await SendAsync(HttpMethod.Post, BatchesPath, "{\"prompts\": [\"hi\"]}", contentType);
        await AssertProblemAsync(response, HttpStatusCode.UnsupportedMediaType, field: null);
    }

    /// <summary>
    /// A batch of five prompts, two at a time: 202 + Location; it ends with five completed items whose replies and
    /// job links are in the paged results; every agent is deleted.
    /// </summary>
    [Fact]
    public async Task Batch_runs_every_item_and_reports_counts_and_paged_results()
    {
        var prompts = Enumerable.Range(1, 5).Select(i => $"{Host.CompletingPrompt} #{i}").ToList();
        var id = await StartBatchAsync(prompts, maxParallel: 2);

        var done = await WaitForBatchAsync(id, s => s.GetProperty("runtimeStatus").GetString() == "Completed");
        Assert.Equal(5, done.GetProperty("total").GetInt32());
        Assert.Equal(5, done.GetProperty("finished").GetInt32());
        Assert.Equal(100, done.GetProperty("percentDone").GetDouble());
        Assert.Equal(5, done.GetProperty("outcomes").GetProperty("Completed").GetInt32());

        using var page = await GetAsync($"{BatchesPath}/{id}?page=2&pageSize=2");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var results = (await ReadJsonAsync(page)).GetProperty("results");
        Assert.Equal(3, results.GetProperty("totalPages").GetInt32());
        var items = results.GetProperty("items").EnumerateArray().ToList();
        Assert.Equal([2, 3], items.Select(i => i.GetProperty("index").GetInt32()));
        foreach (var item in items)
        {
            Assert.Equal("Completed", item.GetProperty("outcome").GetString());
            Assert.False(string.IsNullOrWhiteSpace(item.GetProperty("reply").GetString()));
            Assert.True(item.GetProperty("agentDeleted").GetBoolean());
            var job = await GetStatusAsync(item.GetProperty("id").GetString()!);
            Assert.Equal("Completed", job.GetProperty("result").GetProperty("outcome").GetString());
            Assert.False(await Host.AgentExistsAsync(job.GetProperty("result").GetProperty("agentId").GetString()!, Token));
        }

        Assert.EndsWith("page=3&pageSize=2", results.GetProperty("nextPageUri").GetString(), StringComparison.Ordinal);
        using (var badPage = await GetAsync($"{BatchesPath}/{id}?pageSize=0"))
        {
            await AssertProblemAsync(badPage, HttpStatusCode.BadRequest, "pageSize");
        }

        using var cancelDone = await PostAsync($"{BatchesPath}/{id}/cancel", null);
        await AssertProblemAsync(cancelDone, HttpStatusCode.Conflict, field: null);

        using var delete = await SendAsync(HttpMethod.Delete, $"{BatchesPath}/{id}");
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.True((await ReadJsonAsync(delete)).GetProperty("purgedInstances").GetInt32() >= 11, "the batch, five items and their pollers");
        using var gone = await GetAsync($"{BatchesPath}/{id}");
        await AssertProblemAsync(gone, HttpStatusCode.NotFound, field: null);
    }

    /// <summary>Cancel of a batch of long-running items: 202; the running items end Cancelled with their agents deleted; the rest never start.</summary>
    [Fact]
    public async Task Cancel_batch_cancels_running_items_and_starts_no_more()
    {
        var prompts = Enumerable.Range(1, 6).Select(i => $"{Host.LongRunningPrompt} #{i}").ToList();
        var id = await StartBatchAsync(prompts, maxParallel: 2);
        var started = await WaitForBatchAsync(id, s => s.GetProperty("running").GetInt32() == 2);
        foreach (var item in started.GetProperty("results").GetProperty("items").EnumerateArray().Take(2))
        {
            await WaitUntilCreatedAsync(item.GetProperty("id").GetString()!);
            await WaitForAsync(item.GetProperty("id").GetString()!, IsPolling);
        }

        using (var form = await SendAsync(HttpMethod.Post, $"{BatchesPath}/{id}/cancel", "{\"reason\": \"not json\"}", "application/x-www-form-urlencoded"))
        {
            await AssertProblemAsync(form, HttpStatusCode.UnsupportedMediaType, field: null);
        }

        // No Content-Type (what another origin's page can send): 415 with a body or without, and the batch runs on.
        foreach (var body in new[] { "", "{\"reason\": \"no-cors\"}" })
        {
            using var noType = await SendAsync(HttpMethod.Post, $"{BatchesPath}/{id}/cancel", body, null);
            await AssertProblemAsync(noType, HttpStatusCode.UnsupportedMediaType, field: null);
        }

        using (var response = await PostAsync($"{BatchesPath}/{id}/cancel", "{\"reason\": \"contract test\"}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var done = await WaitForBatchAsync(id, s => s.GetProperty("runtimeStatus").GetString() == "Completed");
        Assert.Equal(2, done.GetProperty("outcomes").GetProperty("Cancelled").GetInt32());
        Assert.Equal(4, done.GetProperty("notStarted").GetInt32());
        Assert.Equal("contract test", done.GetProperty("cancelReason").GetString());
        var items = done.GetProperty("results").GetProperty("items").EnumerateArray().ToList();
        foreach (var item in items.Take(2))
        {
            Assert.Equal("Cancelled", item.GetProperty("outcome").GetString());
            Assert.True(item.GetProperty("agentDeleted").GetBoolean());
        }

        Assert.All(items.Skip(2), i => Assert.Equal("NeverStarted", i.GetProperty("runtimeStatus").GetString()));
    }

    /// <summary>
    /// A batch POSTed again with its <c>Idempotency-Key</c> answers the first batch (same id), and another body with
    /// the key gets 422. Once the batch is deleted the key is free: it starts a new batch.
    /// </summary>
    [Fact]
    public async Task Start_batch_with_an_idempotency_key_answers_the_first_batch_again_and_another_body_gets_422()
    {
        var key = Guid.NewGuid().ToString();
        var body = $"{{\"prompts\": [{JsonSerializer.Serialize(Host.CompletingPrompt + " idem-1")}, {JsonSerializer.Serialize(Host.CompletingPrompt + " idem-2")}], {FastPolling}}}";

        string id;
        using (var first = await PostWithKeyAsync(BatchesPath, body, key))
        {
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
            id = (await ReadJsonAsync(first)).GetProperty("id").GetString()!;
        }

        using (var retry = await PostWithKeyAsync(BatchesPath, body, key))
        {
            Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
            Assert.Equal(id, (await ReadJsonAsync(retry)).GetProperty("id").GetString());
        }

        using (var other = await PostWithKeyAsync(BatchesPath, body.Replace("idem-2", "idem-3", StringComparison.Ordinal), key))
        {
            await AssertProblemAsync(other, (HttpStatusCode)422, field: "Idempotency-Key");
        }

        // Finished (it continued as new on the way), the batch is still the key's; the retry sees it, then a DELETE frees the key.
        var done = await WaitForBatchAsync(id, s => s.GetProperty("runtimeStatus").GetString() == "Completed");
        Assert.Equal(2, done.GetProperty("total").GetInt32());
        using (var retry = await PostWithKeyAsync(BatchesPath, body, key))
        {
            Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
            Assert.Equal(id, (await ReadJsonAsync(retry)).GetProperty("id").GetString());
        }

        using (var delete = await SendAsync(HttpMethod.Delete, $"{BatchesPath}/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        }

        using (var anew = await PostWithKeyAsync(BatchesPath, body.Replace("idem-2", "idem-3", StringComparison.Ordinal), key))
        {
            Assert.Equal(HttpStatusCode.Accepted, anew.StatusCode);
        }
    }

    /// <summary>
    /// Batch cancel holds its body to the job cancel's rules: a blank or invisible reason gets 400 naming it, a literal
    /// null 400 naming the body, a body over 1 MiB 413; the batch runs on. Its finished items, which GET shows as jobs,
    /// cannot be deleted one by one: 409 naming the batch.
    /// </summary>
    [Fact]
    public async Task Cancel_batch_refuses_blank_invisible_or_null_reasons_and_items_are_deleted_only_with_their_batch()
    {
        var id = await StartBatchAsync([Host.CompletingPrompt + " item", Host.LongRunningPrompt + " item"], maxParallel: 2);
        await WaitForBatchAsync(id, s => s.GetProperty("running").GetInt32() + s.GetProperty("finished").GetInt32() == 2);
        foreach (var (body, field) in new[] { ("{\"reason\": \"   \"}", "reason"), ("{\"reason\": \"\\u0000\"}", "reason"), ("{\"reason\": \"\\u200b\"}", "reason"), ("null", "body") })
        {
            using var response = await PostAsync($"{BatchesPath}/{id}/cancel", body);
            await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
        }

        using (var huge = await PostAsync($"{BatchesPath}/{id}/cancel", $"{{\"reason\": \"{new string('x', 1_100_000)}\"}}"))
        {
            await AssertProblemAsync(huge, HttpStatusCode.RequestEntityTooLarge, "body");
        }

        var item = $"{id}:item:0";
        await WaitForAsync(item, IsFinished);
        Assert.Equal("Running", (await WaitForBatchAsync(id, _ => true)).GetProperty("runtimeStatus").GetString());
        using (var delete = await SendAsync(HttpMethod.Delete, $"{JobsPath}/{item}"))
        {
            var problem = await AssertProblemAsync(delete, HttpStatusCode.Conflict, field: null);
            Assert.Contains($"agent batch '{id}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        await GetStatusAsync(item); // still there
        using (var cancel = await PostAsync($"{BatchesPath}/{id}/cancel", "{\"reason\": \"done\"}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        await WaitForBatchAsync(id, s => s.GetProperty("runtimeStatus").GetString() == "Completed");
    }

    /// <summary>GET, cancel and DELETE of an unknown batch: 404 problem details; a job id is not a batch id.</summary>
    [Fact]
    public async Task Unknown_batch_returns_404()
    {
        var unknown = $"{BatchesPath}/no-such-batch-{Guid.NewGuid():N}";
        using (var get = await GetAsync(unknown))
        {
            await AssertProblemAsync(get, HttpStatusCode.NotFound, field: null);
        }

        using (var cancel = await PostAsync(unknown + "/cancel", null))
        {
            await AssertProblemAsync(cancel, HttpStatusCode.NotFound, field: null);
        }

        using var delete = await SendAsync(HttpMethod.Delete, unknown);
        await AssertProblemAsync(delete, HttpStatusCode.NotFound, field: null);
    }

    async Task<string> StartBatchAsync(IReadOnlyList<string> prompts, int maxParallel)
    {
        var body = $"{{\"prompts\": {JsonSerializer.Serialize(prompts)}, \"maxParallel\": {maxParallel}, {FastPolling}}}";
        using var response = await PostAsync(BatchesPath, body);
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{(int)response.StatusCode}: {text}");
        using var links = JsonDocument.Parse(text);
        var id = links.RootElement.GetProperty("id").GetString()!;
        Assert.Equal(links.RootElement.GetProperty("statusQueryGetUri").GetString(), response.Headers.Location?.AbsoluteUri);
        Assert.EndsWith($"/{BatchesPath}/{id}/cancel", links.RootElement.GetProperty("cancelPostUri").GetString(), StringComparison.Ordinal);
        return id;
    }

    async Task<JsonElement> WaitForBatchAsync(string id, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow + JobTimeout;
        while (true)
        {
            using var response = await GetAsync($"{BatchesPath}/{id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var status = await ReadJsonAsync(response);
            if (condition(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Batch {id} did not reach the expected state within {JobTimeout.TotalSeconds:0} s; last status: {status}");
            }

            await Task.Delay(100, Token);
        }
    }

    async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path)
    {
        using var request = new HttpRequestMessage(method, path);
        return await Host.SendAsync(request, Token);
    }

    /// <summary>
    /// Waits (bounded) until an item the batch reports running answers GET: on Azure Storage a sub-orchestration's
    /// instance exists only once its start message has been processed, a queue hop after the batch scheduled it.
    /// </summary>
    async Task WaitUntilCreatedAsync(string id)
    {
        var deadline = DateTime.UtcNow + JobTimeout;
        while (true)
        {
            using var response = await GetAsync($"{JobsPath}/{Uri.EscapeDataString(id)}");
            if (response.StatusCode != HttpStatusCode.NotFound)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"Batch item {id} was never created.");
            await Task.Delay(100, Token);
        }
    }
}
