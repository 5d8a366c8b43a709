namespace LocalAgentService.Tests;

/// <summary><c>Simulation:PollHints=false</c>: run and response reads carry no <c>retry-after-ms</c>, like the real services.</summary>
public sealed class PollHintTests
{
    [Fact]
    public async Task With_poll_hints_off_run_and_response_reads_send_no_retry_after_ms()
    {
        await using var server = await Support.StartFastAsync(o => o.Simulation.PollHints = false);
        using var http = Support.Http(server);
        string assistant = (await Support.PostAsync(http, "v1/assistants", new { model = "gpt-4o-mini" })).Body.GetProperty("id").GetString()!;
        var created = await Support.PostAsync(http, "v1/threads/runs", new { assistant_id = assistant, thread = new { messages = new[] { new { role = "user", content = "hi" } } } });
        Assert.Equal(200, created.Status);
        Assert.False(created.Response.Headers.Contains("retry-after-ms"));
        string thread = created.Body.GetProperty("thread_id").GetString()!, run = created.Body.GetProperty("id").GetString()!;
        var read = await Support.GetAsync(http, $"v1/threads/{thread}/runs/{run}");
        Assert.Equal(200, read.Status);
        Assert.False(read.Response.Headers.Contains("retry-after-ms"));

        var response = await Support.PostAsync(http, "v1/responses", new { model = "gpt-4o-mini", input = "hi", background = true });
        Assert.False(response.Response.Headers.Contains("retry-after-ms"));
        var got = await Support.GetAsync(http, $"v1/responses/{response.Body.GetProperty("id").GetString()}");
        Assert.Equal(200, got.Status);
        Assert.False(got.Response.Headers.Contains("retry-after-ms"));
    }
}
