using System.Net;
using System.Text.Json;
using AgentFunctions.Browser.Tests.Support;
using Microsoft.Playwright;

namespace AgentFunctions.Browser.Tests;

/// <summary>
/// A keyless <c>serve</c> against the pages of other sites, in headless Chromium: what the README's security section
/// promises. A page on another origin (here 127.0.0.1 on another port) tries what such pages have done to local AI
/// servers: a no-cors POST with a Blob, with text/plain and with a form body, and a CORS POST with JSON; a page on a
/// name that resolves to 127.0.0.1 (DNS rebinding, made with Chromium's host resolver rules) sends same-origin
/// requests. None starts or cancels a job. The dashboard itself keeps working (DashboardTests, on the same keyless
/// server).
/// </summary>
public sealed class CrossOriginTests(DashboardServers servers) : IClassFixture<DashboardServers>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_page_on_another_origin_can_neither_start_nor_cancel_a_job()
    {
        using var client = new HttpClient { BaseAddress = servers.Slow.BaseAddress };
        var running = await servers.StartJobAsync(client, new { prompt = "Hello, tell me a joke" });
        var marker = Guid.NewGuid().ToString("N");
        var target = servers.Slow.BaseAddress.ToString().TrimEnd('/');
        await using var site = new OtherOriginServer($$"""
            <!doctype html><title>another site</title>
            <script>
            window.attempts = (async () => {
              const target = {{JsonSerializer.Serialize(target)}};
              const job = JSON.stringify({ prompt: "Hello, tell me a joke {{marker}}" });
              const attempts = [
                () => fetch(target + "/api/agent-jobs", { mode: "no-cors", method: "POST", body: new Blob([job]) }),
                () => fetch(target + "/api/agent-jobs", { mode: "no-cors", method: "POST", headers: { "Content-Type": "text/plain" }, body: job }),
                () => fetch(target + "/api/agent-jobs", { mode: "no-cors", method: "POST", body: new URLSearchParams({ [job]: "" }) }),
                () => fetch(target + "/api/agent-jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: job }),
                () => fetch(target + "/api/agent-jobs/{{running}}/cancel", { mode: "no-cors", method: "POST" }),
                () => fetch(target + "/api/agent-jobs/{{running}}/cancel", { mode: "no-cors", method: "POST", body: new Blob(["{}"]) }),
              ];
              const results = [];
              for (const attempt of attempts) {
                try { const r = await attempt(); results.push(r.type + " " + r.status); }
                catch (e) { results.push("blocked: " + e.name); }
              }
              return results;
            })();
            </script>
            """);

        var page = await servers.NewPageAsync();
        await page.GotoAsync($"http://127.0.0.1:{site.Port}/");
        var results = await page.EvaluateAsync<string[]>("() => window.attempts");
        Assert.Equal(6, results.Length);

        // What the server did, not what the page could see: no job with the marker, and the running job was not
        // cancelled (the first cancel it receives is the one its result names: the test's, sent after the page's).
        var list = await client.GetStringAsync("api/agent-jobs?top=200", Token);
        Assert.DoesNotContain(marker, list, StringComparison.Ordinal);
        using (var cancel = new StringContent("{\"reason\": \"cancelled by the test\"}", System.Text.Encoding.UTF8, "application/json"))
        using (var cancelled = await client.PostAsync($"api/agent-jobs/{running}/cancel", cancel, Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancelled.StatusCode);
        }

        var deadline = DateTime.UtcNow.AddMinutes(2);
        JsonElement job;
        do
        {
            await Task.Delay(200, Token);
            using var status = JsonDocument.Parse(await client.GetStringAsync($"api/agent-jobs/{running}", Token));
            job = status.RootElement.Clone();
        }
        while (job.GetProperty("runtimeStatus").GetString() != "Completed" && DateTime.UtcNow < deadline);

        Assert.Equal("Completed", job.GetProperty("runtimeStatus").GetString());
        Assert.Contains("cancelled by the test", job.GetProperty("result").GetProperty("failure").GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_page_on_a_name_rebound_to_127_0_0_1_gets_403_and_starts_nothing()
    {
        // DNS rebinding: the attacker's name answers with 127.0.0.1, so its page is same-origin with its requests.
        var (playwright, browser) = await Chromium.LaunchAsync("--host-resolver-rules=MAP rebound.example 127.0.0.1");
        using (playwright)
        await using (browser)
        {
            var page = await (await browser.NewContextAsync()).NewPageAsync();
            var port = servers.Slow.BaseAddress.Port;
            var marker = Guid.NewGuid().ToString("N");

            var opened = await page.GotoAsync($"http://rebound.example:{port}/");
            Assert.Equal(403, opened!.Status);

            var status = await page.EvaluateAsync<int>(
                """async marker => (await fetch("/api/agent-jobs", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ prompt: "Hello " + marker }) })).status""",
                marker);
            Assert.Equal(403, status);

            using var client = new HttpClient { BaseAddress = servers.Slow.BaseAddress };
            Assert.DoesNotContain(marker, await client.GetStringAsync("api/agent-jobs?top=200", Token), StringComparison.Ordinal);
        }
    }
}
