using System.Net;
using System.Text.Json;
using Xunit;

namespace AgentJobs.ApiContract;

/// <summary>
/// The job list and the event stream, shared by every host (derive as for <see cref="AgentJobsApiContract"/>).
/// </summary>
public abstract class AgentJobsLiveContract(IAgentJobsApiHost host) : AgentJobsContractBase(host)
{
    /// <summary>Query strings the list must refuse with 400 naming the field.</summary>
    public static TheoryData<string, string> InvalidListQueries { get; } = new()
    {
        { "status=Sleeping", "status" },
        { "status=1", "status" },
        { "createdFrom=yesterday", "createdFrom" },
        { "createdTo=2025-13-45", "createdTo" },
        { "createdFrom=2025-02-01T00:00:00Z&createdTo=2025-01-01T00:00:00Z", "createdTo" },
        { "top=0", "top" },
        { "top=201", "top" },
        { "top=ten", "top" },
        { "continuationToken=%%%", "continuationToken" },
    };

    [Theory]
    [MemberData(nameof(InvalidListQueries))]
    public async Task Bad_list_filters_get_400_problem_details_naming_the_field(string query, string field)
    {
        using var response = await GetAsync($"{JobsPath}?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(field, (await ReadJsonAsync(response)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task The_list_pages_agent_jobs_newest_first_with_filters_and_no_pollers()
    {
        var first = await StartAsync(Host.CompletingPrompt + " (first)");
        await WaitForAsync(first, IsFinished);
        var second = await StartAsync(Host.CompletingPrompt + " (second)");
        await WaitForAsync(second, IsFinished);

        var all = await ListAllAsync("status=Completed&top=1");
        Assert.DoesNotContain(all, j => j.GetProperty("id").GetString()!.Contains(":poll:", StringComparison.Ordinal));
        var ids = all.Select(j => j.GetProperty("id").GetString()).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.True(ids.IndexOf(second) >= 0 && ids.IndexOf(second) < ids.IndexOf(first), "newest first, across pages");
        var created = all.Select(j => j.GetProperty("createdAt").GetDateTimeOffset()).ToList();
        Assert.Equal(created.OrderDescending(), created);

        var mine = all.Single(j => j.GetProperty("id").GetString() == first);
        Assert.Equal("Completed", mine.GetProperty("runtimeStatus").GetString());
        Assert.Equal("Completed", mine.GetProperty("outcome").GetString());
        Assert.Equal("Done", mine.GetProperty("phase").GetString());
        Assert.Equal(Host.CompletingPrompt + " (first)", mine.GetProperty("promptPreview").GetString());

        using var running = await GetAsync($"{JobsPath}?status=Running,Pending&top=200");
        Assert.DoesNotContain((await ReadJsonAsync(running)).GetProperty("jobs").EnumerateArray(), j => j.GetProperty("id").GetString() == first);

        var from = Uri.EscapeDataString(DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"));
        using var future = await GetAsync($"{JobsPath}?createdFrom={from}");
        Assert.Empty((await ReadJsonAsync(future)).GetProperty("jobs").EnumerateArray());
    }

    [Fact]
    public async Task The_event_stream_tells_a_job_in_order_and_resumes_exactly_after_Last_Event_ID()
    {
        var id = await StartAsync(Host.CompletingPrompt);
        var whole = await ReadEventsAsync(id, null);
        Assert.Equal("accepted", whole[0].Type);
        Assert.Equal("result", whole[^1].Type);
        Assert.Contains(whole, e => e.Type == "reply");
        Assert.Contains(whole, e => e.Type == "phase" && e.Data.GetProperty("phase").GetString() == "Polling");
        Assert.Equal("Completed", whole[^1].Data.GetProperty("outcome").GetString());
        Assert.Equal(whole.Count, whole.Select(e => e.Id).Distinct().Count());

        var middle = whole.Count / 2;
        var rest = await ReadEventsAsync(id, whole[middle].Id);
        Assert.Equal(whole.Skip(middle + 1).Select(e => e.Id), rest.Select(e => e.Id));
        Assert.Equal(whole.Skip(middle + 1).Select(e => e.Data.GetRawText()), rest.Select(e => e.Data.GetRawText()));

        using var request = new HttpRequestMessage(HttpMethod.Get, $"{JobsPath}/{id}/events");
        request.Headers.Add("Last-Event-ID", whole[^1].Id);
        using var after = await Host.SendAsync(request, Token);
        Assert.Equal(HttpStatusCode.NoContent, after.StatusCode);
    }

    [Fact]
    public async Task The_event_stream_of_an_unknown_job_is_404_and_a_malformed_Last_Event_ID_is_400()
    {
        using var missing = await GetAsync($"{JobsPath}/no-such-job/events");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);

        var id = await StartAsync(Host.CompletingPrompt);
        using var request = new HttpRequestMessage(HttpMethod.Get, $"{JobsPath}/{id}/events");
        request.Headers.Add("Last-Event-ID", "not-an-id");
        using var bad = await Host.SendAsync(request, Token);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal("Last-Event-ID", (await ReadJsonAsync(bad)).GetProperty("field").GetString());
        await WaitForAsync(id, IsFinished);
    }

    async Task<List<JsonElement>> ListAllAsync(string query)
    {
        var jobs = new List<JsonElement>();
        string? token = null;
        for (var page = 0; page < 500; page++)
        {
            using var response = await GetAsync($"{JobsPath}?{query}{(token is null ? "" : "&continuationToken=" + Uri.EscapeDataString(token))}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await ReadJsonAsync(response);
            jobs.AddRange(body.GetProperty("jobs").EnumerateArray());
            token = body.GetProperty("continuationToken").GetString();
            if (token is null)
            {
                return jobs;
            }
        }

        throw new InvalidOperationException("The list did not end.");
    }
}
