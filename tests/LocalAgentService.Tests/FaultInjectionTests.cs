using System.ClientModel;
using System.Net.Http.Json;
using System.Text.Json;
using OpenAI.Assistants;

namespace LocalAgentService.Tests;

/// <summary>Fault injection by header, by admin endpoint and by configuration; each mode's observable effect.</summary>
public sealed class FaultInjectionTests(FastServer fixture) : IClassFixture<FastServer>
{
    private LocalAgentServer Server => fixture.Server;

    [Fact]
    public async Task Header_429_with_count_faults_the_first_n_identical_requests_with_retry_hints()
    {
        using var http = Support.Http(Server);
        var assistant = (await Support.PostAsync(http, "v1/assistants", new { model = "m" })).Body.GetProperty("id").GetString();
        for (int attempt = 1; attempt <= 3; attempt++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"v1/assistants/{assistant}");
            request.Headers.Add("x-local-fault", "429");
            request.Headers.Add("x-local-fault-count", "2");
            request.Headers.Add("x-local-fault-retry-after-ms", "1500");
            using var response = await http.SendAsync(request);
            if (attempt <= 2)
            {
                Assert.Equal(429, (int)response.StatusCode);
                Assert.Equal("2", Assert.Single(response.Headers.GetValues("Retry-After")));
                Assert.Equal("1500", Assert.Single(response.Headers.GetValues("retry-after-ms")));
                var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
                Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
            }
            else
            {
                Assert.Equal(200, (int)response.StatusCode);
            }
        }
    }

    [Fact]
    public async Task Header_500_and_drop_modes()
    {
        using var http = Support.Http(Server);
        using var fail = new HttpRequestMessage(HttpMethod.Get, "v1/assistants");
        fail.Headers.Add("x-local-fault", "500");
        using var failed = await http.SendAsync(fail);
        Assert.Equal(500, (int)failed.StatusCode);
        Assert.Equal("server_error", JsonDocument.Parse(await failed.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("type").GetString());

        using var drop = new HttpRequestMessage(HttpMethod.Get, "v1/assistants");
        drop.Headers.Add("x-local-fault", "drop");
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.SendAsync(drop));

        using var bad = new HttpRequestMessage(HttpMethod.Get, "v1/assistants");
        bad.Headers.Add("x-local-fault", "explode");
        Assert.Equal(400, (int)(await http.SendAsync(bad)).StatusCode);
    }

    [Theory]
    [InlineData("run-fail", "failed")]
    [InlineData("run-expire", "expired")]
    public async Task Header_run_faults_plant_into_the_created_run(string mode, string status)
    {
        var client = Support.Client(Server, Shape.OpenAI, extra: RequestEditPolicy.Headers(("x-local-fault", mode)));
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value; // run-* modes leave other operations alone
        var run = await Support.WaitAsync(client, (await client.CreateThreadAndRunAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "hi" } })).Value, status);
        if (status == "failed")
        {
            Assert.Equal("server_error", run.LastError.Code.ToString());
            Assert.NotNull(run.FailedAt);
        }

        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task Admin_faults_reach_an_sdk_client_that_cannot_set_headers()
    {
        using var http = Support.Http(Server);
        var client = Support.Client(Server, Shape.Project);
        var agent = (await client.CreateAssistantAsync("gpt-4o-mini")).Value;
        var run = (await client.CreateThreadAndRunAsync(agent.Id, new ThreadCreationOptions { InitialMessages = { "hi" } })).Value;

        // 429 twice on get-run: the SDK's retry policy honours retry-after-ms and succeeds on the third try.
        var added = await Support.PostAsync(http, "admin/faults", new { operation = "get-run", mode = "429", count = 2, retryAfterMs = 30 });
        Assert.Equal(200, added.Status);
        Assert.Single((await Support.GetAsync(http, "admin/faults")).Body.GetProperty("data").EnumerateArray());
        Assert.Equal(run.Id, (await client.GetRunAsync(run.ThreadId, run.Id)).Value.Id);
        Assert.Empty((await Support.GetAsync(http, "admin/faults")).Body.GetProperty("data").EnumerateArray());

        // A dropped connection is retried by the SDK as well.
        await Support.PostAsync(http, "admin/faults", new { operation = "get-assistant", mode = "drop", count = 1 });
        Assert.Equal(agent.Id, (await client.GetAssistantAsync(agent.Id)).Value.Id);

        // run-fail from the admin endpoint.
        await Support.WaitAsync(client, run);
        await Support.PostAsync(http, "admin/faults", new { operation = "create-run", mode = "run-fail", count = 1 });
        var failed = await Support.WaitAsync(client, (await client.CreateRunAsync(run.ThreadId, agent.Id)).Value, "failed");
        Assert.Equal("Injected fault: the run failed.", failed.LastError.Message);

        // An unlimited 400 fault (not retried) until DELETE /admin/faults.
        await Support.PostAsync(http, "admin/faults", new { operation = "list-assistants", mode = "400" });
        Assert.Equal(400, (await Support.GetAsync(http, "v1/assistants")).Status);
        Assert.Equal(400, (await Support.GetAsync(http, "v1/assistants")).Status);
        Assert.Equal(200, (await Support.SendAsync(http, HttpMethod.Delete, "admin/faults")).Status);
        Assert.Equal(200, (await Support.GetAsync(http, "v1/assistants")).Status);

        Support.AssertError(400, await Support.PostAsync(http, "admin/faults", new { mode = "boom" }), "mode");
        Support.AssertError(400, await Support.PostAsync(http, "admin/faults", new { mode = "500", count = 0 }), "count");
        await client.DeleteAssistantAsync(agent.Id);
    }

    [Fact]
    public async Task Configured_faults_apply_from_start()
    {
        await using var server = await Support.StartFastAsync(o => o.Faults.Add(new FaultRule { Operation = "create-thread", Mode = "503", Count = 1 }));
        using var http = Support.Http(server);
        Support.AssertError(503, await Support.PostAsync(http, "v1/threads", new { }));
        Assert.Equal(200, (await Support.PostAsync(http, "v1/threads", new { })).Status);
    }

    [Fact]
    public async Task Sdk_with_a_429_header_and_count_recovers_through_its_retries()
    {
        var client = Support.Client(Server, Shape.OpenAI, extra: RequestEditPolicy.Headers(("x-local-fault", "429"), ("x-local-fault-count", "1"), ("x-local-fault-retry-after-ms", "20")));
        var thread = (await client.CreateThreadAsync()).Value;
        Assert.StartsWith("thread_", thread.Id);
        var noRetry = Support.Client(Server, Shape.OpenAI, extra: RequestEditPolicy.Headers(("x-local-fault", "404")));
        var ex = await Assert.ThrowsAsync<ClientResultException>(() => noRetry.GetThreadAsync(thread.Id));
        Assert.Equal(404, ex.Status);
    }
}
