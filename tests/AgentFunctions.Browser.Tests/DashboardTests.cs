using System.Text.RegularExpressions;
using AgentFunctions.Browser.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AgentFunctions.Browser.Tests;

/// <summary>
/// The dashboard in headless Chromium against <c>serve</c> processes: starting, watching, cancelling and reloading
/// jobs as a person would, through the page's labelled controls.
/// </summary>
public sealed partial class DashboardTests(DashboardServers servers) : IClassFixture<DashboardServers>
{
    [Fact]
    public async Task A_job_started_from_the_page_is_watched_live_until_Completed_with_its_reply()
    {
        var page = await servers.NewPageAsync();
        await page.GotoAsync(servers.QuickDashboard);

        await page.GetByLabel("Prompt").FillAsync("What is 17 * 23?");
        await page.GetByLabel("Tools").FillAsync("calculate");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start job" }).ClickAsync();

        var view = page.Locator("#job");
        await Expect(view).ToBeVisibleAsync();
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Completed");
        await Expect(page.Locator("#reply")).ToContainTextAsync("391");
        await Expect(page.Locator("#f-agent")).ToHaveTextAsync("yes");
        await Expect(page.Locator("#tool-rows tr")).ToContainTextAsync(["calculate"]);
        await Expect(page.Locator("#tool-rows tr td").Nth(2)).ToContainTextAsync("391");
        await Expect(page.Locator("#run-steps")).ToContainTextAsync("tool_calls (completed)");
        await Expect(page.Locator("#f-usage")).ToHaveTextAsync(TokensPattern());

        // The list shows the job finished too (it polls the list API).
        var id = await page.Locator("#job-id").TextContentAsync();
        await Expect(page.Locator($"#job-rows tr[data-id='{id}'] td").Nth(1)).ToHaveTextAsync("Completed");

        // Every event once, in order, although the server closed the stream every 3 s and EventSource resumed it. The
        // outcome above comes from the status API; the stream's last event may land a moment later.
        await Expect(page.Locator("#events li[data-type='result']")).ToHaveCountAsync(1);
        using var client = servers.QuickClient();
        Assert.Equal(await DashboardServers.EventIdsAsync(client, id!), await EventIdsOnPageAsync(page));

        // The whole page (form, list, job view) as a test artifact; docs/dashboard.png is one of these.
        var png = await page.ScreenshotAsync(new() { FullPage = true });
        var path = Path.Combine(AppContext.BaseDirectory, "TestResults", "dashboard-job.png");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, png, TestContext.Current.CancellationToken);
        TestContext.Current.AddAttachment("dashboard-job.png", png, "image/png");
    }

    [Fact]
    public async Task A_running_job_is_cancelled_from_the_page_on_a_narrow_window()
    {
        var page = await servers.NewPageAsync(width: 390, height: 844);
        await page.GotoAsync(servers.Slow.BaseAddress.ToString());

        await page.GetByLabel("Prompt").FillAsync("Hello, tell me a joke");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start job" }).PressAsync("Enter");
        await Expect(page.Locator("#events li[data-type='runStatus']")).Not.ToHaveCountAsync(0);
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("–");

        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel job" }).ClickAsync();
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Cancelled");
        await Expect(page.Locator("#f-agent")).ToHaveTextAsync("yes");
        await Expect(page.Locator("#events li[data-type='cancelRequested']")).ToContainTextAsync("cancelled from the dashboard");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel job" })).ToBeDisabledAsync();

        // Readable on a narrow window: nothing wider than the viewport.
        Assert.True(await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"),
            "The page scrolls sideways at 390 px.");
    }

    [Fact]
    public async Task Reloading_mid_job_resumes_the_stream_with_every_event_once()
    {
        // The job's tool call waits for approval, so it is surely mid-job when the page reloads (a timed run could end
        // first on a slow machine); the decision is made on the reloaded page.
        using var client = servers.QuickClient();
        var id = await servers.StartJobAsync(client, new
        {
            prompt = "Please use calculate with {\"expression\": \"6 * 7\"}",
            tools = new[] { "calculate" },
            approval = new { tools = new[] { "calculate" } },
        });
        var page = await servers.NewPageAsync();
        await page.GotoAsync($"{servers.QuickDashboard}#job={id}");
        await Expect(page.Locator("#events li[data-type='approvalRequested']")).ToHaveCountAsync(1);
        Assert.Equal(0, await page.Locator("#events li[data-type='result']").CountAsync());

        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve calculate" }).ClickAsync();
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Completed");
        await Expect(page.Locator("#reply")).ToContainTextAsync("42");

        // The outcome comes from the status API; the stream's last event may land a moment later.
        await Expect(page.Locator("#events li[data-type='result']")).ToHaveCountAsync(1);
        var onPage = await EventIdsOnPageAsync(page);
        Assert.Equal(onPage.Count, onPage.Distinct().Count());
        Assert.Equal(await DashboardServers.EventIdsAsync(client, id), onPage);
    }

    [Fact]
    public async Task A_held_tool_call_is_rejected_from_the_page_and_the_model_answers_the_rejection()
    {
        // A real job whose calculate call waits for approval: the page shows the call, posts the decision with its
        // reason and the function key, and the job completes with the model answering the rejection.
        using var client = servers.QuickClient();
        var id = await servers.StartJobAsync(client, new
        {
            prompt = "Please use calculate with {\"expression\": \"6 * 7\"}",
            tools = new[] { "calculate" },
            approval = new { tools = new[] { "calculate" } },
        });
        var page = await servers.NewPageAsync();
        await page.GotoAsync($"{servers.QuickDashboard}#job={id}");

        var reject = page.GetByRole(AriaRole.Button, new() { Name = "Reject calculate" });
        await Expect(reject).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Approve calculate" })).ToBeVisibleAsync();
        await Expect(page.Locator("#f-phase")).ToHaveTextAsync("AwaitingApproval");
        await Expect(page.Locator("#events li[data-type='approvalRequested']")).ToContainTextAsync("calculate");

        await page.GetByLabel("Reason (optional)").FillAsync("not with my numbers");
        await reject.ClickAsync();

        await Expect(reject).ToHaveCountAsync(0);
        await Expect(page.Locator("#events li[data-type='approvalDecided']")).ToContainTextAsync("rejected: not with my numbers");
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Completed");
        await Expect(page.Locator("#reply")).ToContainTextAsync("rejected by the user: not with my numbers");
        await Expect(page.Locator("#f-agent")).ToHaveTextAsync("yes");
    }

    [Fact]
    public async Task The_reply_grows_live_as_the_agent_writes_it_and_a_reload_mid_reply_resumes_without_repeating_text()
    {
        // Every state the reply shows is recorded (a mutation observer installed on every load), so a repeated or
        // out-of-order piece of text shows as a state that is not a prefix of the final reply.
        var page = await servers.NewPageAsync();
        await page.AddInitScriptAsync("""
            window.__replies = [];
            document.addEventListener('DOMContentLoaded', () => {
              const reply = document.getElementById('reply');
              new MutationObserver(() => { if (reply.dataset.live) window.__replies.push(reply.textContent); })
                .observe(reply, { childList: true, characterData: true, subtree: true });
            });
            """);
        using var client = servers.QuickClient();
        var id = await servers.StartJobAsync(client, new { prompt = "Please write 160 words" }); // 4 s at 40 words/s
        await page.GotoAsync($"{servers.QuickDashboard}#job={Uri.EscapeDataString(id)}");

        // Growing while the job runs, then the page reloads mid-reply.
        var reply = page.Locator("#reply");
        await Expect(reply).ToHaveAttributeAsync("data-live", "true");
        await page.WaitForFunctionAsync("() => document.getElementById('reply').textContent.split(' ').length > 20");
        Assert.Equal("–", await page.Locator("#f-outcome").TextContentAsync());
        var before = await page.EvaluateAsync<string[]>("() => window.__replies");
        await page.ReloadAsync();

        await Expect(reply).ToHaveAttributeAsync("data-live", "true");
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Completed");
        await Expect(reply).Not.ToHaveAttributeAsync("data-live", "true");
        var after = await page.EvaluateAsync<string[]>("() => window.__replies");

        using var status = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"api/agent-jobs/{id}", TestContext.Current.CancellationToken));
        var final = status.RootElement.GetProperty("result").GetProperty("reply").GetString()!;
        Assert.Equal(final, await reply.TextContentAsync());
        Assert.True(before.Length > 2 && after.Length > 2, $"the reply did not grow: {before.Length} states before the reload, {after.Length} after");
        Assert.All(before.Concat(after), text => Assert.StartsWith(text, final, StringComparison.Ordinal));
        Assert.True(before.Zip(before.Skip(1)).All(p => p.Second.Length >= p.First.Length), "the reply shrank before the reload");
        Assert.True(after.Zip(after.Skip(1)).All(p => p.Second.Length >= p.First.Length), "the reply shrank after the reload");
    }

    [Fact]
    public async Task A_reply_read_from_the_status_first_is_not_redrawn_by_deltas_the_stream_delivers_after_it()
    {
        // The page reads a job two ways at once: the status API (the whole reply once it has ended) and the event stream
        // (the deltas that spelled it, then the reply event). A stream that lags, or reconnects with Last-Event-ID from
        // mid-reply, delivers deltas after the status has drawn the whole reply. Here the first stream request is held
        // until the status has been drawn and then sent as such a reconnect (Last-Event-ID of the first event, so the
        // server replays the deltas): the reply must stay whole, never shrink back to a delta prefix.
        using var client = servers.QuickClient();
        var id = await servers.StartJobAsync(client, new { prompt = "Please write 40 words" });
        string final = "";
        for (var deadline = DateTime.UtcNow.AddSeconds(60); DateTime.UtcNow < deadline; await Task.Delay(200, TestContext.Current.CancellationToken))
        {
            using var status = System.Text.Json.JsonDocument.Parse(await client.GetStringAsync($"api/agent-jobs/{id}", TestContext.Current.CancellationToken));
            if (status.RootElement.TryGetProperty("result", out var result) && result.ValueKind == System.Text.Json.JsonValueKind.Object)
            {
                final = result.GetProperty("reply").GetString()!;
                break;
            }
        }
        Assert.True(final.Split(' ').Length > 20, $"the job did not finish with a long reply: '{final}'");

        var page = await servers.NewPageAsync();
        await page.AddInitScriptAsync("""
            window.__replies = [];
            document.addEventListener('DOMContentLoaded', () => {
              const reply = document.getElementById('reply');
              new MutationObserver(() => window.__replies.push(reply.textContent))
                .observe(reply, { childList: true, characterData: true, subtree: true });
            });
            """);
        var statusDrawn = new TaskCompletionSource();
        var held = 0;
        await page.RouteAsync("**/events*", async route =>
        {
            if (Interlocked.Exchange(ref held, 1) == 1)
            {
                await route.ContinueAsync();
                return;
            }

            await statusDrawn.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var headers = new Dictionary<string, string>(route.Request.Headers) { ["last-event-id"] = "0.0.0" };
            await route.ContinueAsync(new() { Headers = headers });
        });
        await page.GotoAsync($"{servers.QuickDashboard}#job={Uri.EscapeDataString(id)}");
        await Expect(page.Locator("#reply")).ToHaveTextAsync(final);
        statusDrawn.SetResult();

        await Expect(page.Locator("#f-stream")).ToHaveTextAsync("ended"); // the stream's result event: every delta is in
        var states = await page.EvaluateAsync<string[]>("() => window.__replies");
        var whole = Array.IndexOf(states, final);
        Assert.True(whole >= 0, "the whole reply was never shown");
        Assert.All(states.Skip(whole), text => Assert.Equal(final, text));
    }

    static async Task<List<string>> EventIdsOnPageAsync(IPage page) =>
        [.. await page.Locator("#events li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.eventId)")];

    [GeneratedRegex(@"^\d+ \(\d+ in, \d+ out\)$")]
    private static partial Regex TokensPattern();
}
