using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit;

namespace AgentJobs.ApiContract;

/// <summary>
/// What every contract suite of the API shares: the host, the suite's settings, and the HTTP helpers that start a
/// job, read its status, wait for a state, cancel it and check problem details.
/// </summary>
public abstract class AgentJobsContractBase(IAgentJobsApiHost host)
{
    /// <summary>The collection path of the API.</summary>
    public const string JobsPath = "api/agent-jobs";

    /// <summary>Polling settings every job of the suite uses, so runs are seen to change within a fraction of a second.</summary>
    /// <remarks>Stream window 0: the suite watches running jobs' phase and live poll count, which a held stream would hide
    /// (stream-first waiting has its own tests: StreamFirstWaitingTests, and the serve streaming tests on Azurite).</remarks>
    public const string FastPolling = "\"polling\": {\"initialDelayMs\": 20, \"maxDelayMs\": 200, \"streamWindowSeconds\": 0}";

    /// <summary>How long the suite waits for a job to reach a state.</summary>
    public static readonly TimeSpan JobTimeout = TimeSpan.FromSeconds(60);

    /// <summary>The host under test.</summary>
    protected IAgentJobsApiHost Host { get; } = host ?? throw new ArgumentNullException(nameof(host));

    /// <summary>The running test's cancellation token.</summary>
    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>A job body with the suite's fast polling.</summary>
    protected static string Job(string prompt) =>
        $"{{\"prompt\": {JsonSerializer.Serialize(prompt)}, {FastPolling}}}";

    /// <summary>POSTs a body (null: an empty one) as application/json, which every POST must declare.</summary>
    protected async Task<HttpResponseMessage> PostAsync(string path, string? body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body ?? "", Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await Host.SendAsync(request, Token);
    }

    /// <summary>POSTs a body as application/json with an <c>Idempotency-Key</c> header (sent as given, valid or not).</summary>
    protected async Task<HttpResponseMessage> PostWithKeyAsync(string path, string body, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        Assert.True(request.Headers.TryAddWithoutValidation("Idempotency-Key", key));
        return await Host.SendAsync(request, Token);
    }

    /// <summary>Sends a body with exactly this Content-Type header (null: none), valid or not.</summary>
    protected async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, string body, string? contentType)
    {
        using var request = new HttpRequestMessage(method, path) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body)) };
        if (contentType is not null)
        {
            Assert.True(request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType));
        }

        return await Host.SendAsync(request, Token);
    }

    /// <summary>GETs a path.</summary>
    protected async Task<HttpResponseMessage> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await Host.SendAsync(request, Token);
    }

    /// <summary>Starts a job and returns its id.</summary>
    protected async Task<string> StartAsync(string prompt)
    {
        using var response = await PostAsync(JobsPath, Job(prompt));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await ReadJsonAsync(response)).GetProperty("id").GetString()!;
    }

    /// <summary>GETs a job's status, which must be 200.</summary>
    protected async Task<JsonElement> GetStatusAsync(string id)
    {
        using var response = await GetAsync($"{JobsPath}/{Uri.EscapeDataString(id)}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return await ReadJsonAsync(response);
    }

    /// <summary>GETs a job until its status satisfies <paramref name="condition"/>, or fails after <see cref="JobTimeout"/>.</summary>
    protected async Task<JsonElement> WaitForAsync(string id, Func<JsonElement, bool> condition)
    {
        var deadline = DateTime.UtcNow + JobTimeout;
        while (true)
        {
            var status = await GetStatusAsync(id);
            if (condition(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Job {id} did not reach the expected state within {JobTimeout.TotalSeconds:0} s; last status: {status}");
            }

            await Task.Delay(50, Token);
        }
    }

    /// <summary>Cancels a job if it is still running and waits for it to finish (cleanup).</summary>
    protected async Task CancelAndWaitAsync(string id)
    {
        using (await PostAsync($"{JobsPath}/{id}/cancel", null))
        {
        }

        await WaitForAsync(id, IsFinished);
    }

    /// <summary>Whether the job's orchestration has finished.</summary>
    protected static bool IsFinished(JsonElement status) =>
        status.GetProperty("runtimeStatus").GetString() is "Completed" or "Failed" or "Terminated";

    /// <summary>Whether the job is waiting for its run (agent, thread and run exist).</summary>
    protected static bool IsPolling(JsonElement status) =>
        status.GetProperty("runtimeStatus").GetString() == "Running" &&
        status.TryGetProperty("progress", out var p) && p.ValueKind == JsonValueKind.Object &&
        p.GetProperty("phase").GetString() == "Polling";

    /// <summary>Reads a response's JSON.</summary>
    protected static async Task<JsonElement> ReadJsonAsync(HttpResponseMessage response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync(Token);
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }

    /// <summary>Asserts an RFC 9457 problem response with the given status and <c>field</c> extension; returns the problem.</summary>
    protected static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? field)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(text);
        var problem = document.RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
        Assert.Equal($"https://httpstatuses.io/{(int)status}", problem.GetProperty("type").GetString());
        Assert.True(problem.TryGetProperty("traceId", out _), $"No 'traceId' (written by ASP.NET Core's problem details service) in {text}");
        if (field is not null)
        {
            Assert.True(problem.TryGetProperty("field", out var actual), $"No 'field' in {text}");
            Assert.True(field == actual.GetString(), $"Expected field '{field}', got '{actual}': {text}");
        }

        return problem.Clone();
    }

    /// <summary>Reads a job's whole event stream (it ends after the result) and parses it.</summary>
    protected async Task<List<(string Id, string Type, JsonElement Data)>> ReadEventsAsync(string id, string? lastEventId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{JobsPath}/{Uri.EscapeDataString(id)}/events");
        if (lastEventId is not null)
        {
            request.Headers.Add("Last-Event-ID", lastEventId);
        }

        using var response = await Host.SendAsync(request, Token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync(Token);
        var events = new List<(string, string, JsonElement)>();
        foreach (var block in text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
        {
            var lines = block.Split('\n');
            if (lines.FirstOrDefault(l => l.StartsWith("id: ", StringComparison.Ordinal)) is not { } idLine)
            {
                continue; // retry hint, heartbeat or comment
            }

            var type = lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))[7..];
            using var data = JsonDocument.Parse(lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))[6..]);
            events.Add((idLine[4..], type, data.RootElement.Clone()));
        }

        return events;
    }
}
