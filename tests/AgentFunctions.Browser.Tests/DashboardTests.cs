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

        // Every event once, in order, although the server closed the stream every 3 s and EventSource resumed it.
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
        using var client = servers.QuickClient();
        var id = await servers.StartJobAsync(client, new { prompt = "What is 6 * 7?", tools = new[] { "calculate" } });
        var page = await servers.NewPageAsync();
        await page.GotoAsync($"{servers.QuickDashboard}#job={id}");
        await Expect(page.Locator("#events li[data-type='runStatus']")).Not.ToHaveCountAsync(0);
        Assert.Equal(0, await page.Locator("#events li[data-type='result']").CountAsync());

        await page.ReloadAsync();
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Completed");
        await Expect(page.Locator("#reply")).ToContainTextAsync("42");

        var onPage = await EventIdsOnPageAsync(page);
        Assert.Equal(onPage.Count, onPage.Distinct().Count());
        Assert.Equal(await DashboardServers.EventIdsAsync(client, id), onPage);
    }

    [Fact]
    public async Task Approval_buttons_appear_on_approvalRequested_post_the_decision_and_go_on_approvalDecided()
    {
        // Approvals are not served yet, so the job's stream, status and approvals endpoints are played by the test
        // (everything else is the real serve): the page must show the buttons, post the decision and drop them.
        const string job = "approval-job";
        var page = await servers.NewPageAsync();
        var posted = new TaskCompletionSource<(string Body, string? Code)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var streams = 0;
        await page.RouteAsync(url => new Uri(url).AbsolutePath.StartsWith($"/api/agent-jobs/{job}", StringComparison.Ordinal), async route =>
        {
            var request = route.Request;
            var path = new Uri(request.Url).AbsolutePath;
            if (path.EndsWith("/approvals", StringComparison.Ordinal))
            {
                posted.TrySetResult((request.PostData!, System.Web.HttpUtility.ParseQueryString(new Uri(request.Url).Query)["code"]));
                await route.FulfillAsync(new() { Status = 202, ContentType = "application/json", Body = "{}" });
            }
            else if (path.EndsWith("/events", StringComparison.Ordinal))
            {
                switch (Interlocked.Increment(ref streams))
                {
                    case 1:
                        await route.FulfillAsync(new()
                        {
                            ContentType = "text/event-stream",
                            Body = "retry: 200\n\n" +
                                Sse("1.0.0", "accepted", """{"prompt":"Add two and two","model":"m","tools":["calculate"],"at":"2026-01-01T00:00:00Z"}""") +
                                Sse("2.0.0", "phase", """{"phase":"AwaitingApproval","at":"2026-01-01T00:00:01Z"}""") +
                                Sse("3.0.0", "approvalRequested", """{"callId":"call_1","tool":"calculate","arguments":"{\"expression\":\"2+2\"}","expiresAt":"2026-01-01T01:00:00Z","at":"2026-01-01T00:00:02Z"}"""),
                        });
                        break;
                    case 2:
                        // EventSource reconnects by itself (Chromium sends Last-Event-ID, which Playwright's
                        // interception does not show); the decision comes once it is posted.
                        await posted.Task.WaitAsync(TimeSpan.FromMinutes(2));
                        await route.FulfillAsync(new()
                        {
                            ContentType = "text/event-stream",
                            Body = Sse("4.0.0", "approvalDecided", """{"callId":"call_1","approved":true,"reason":"fine","at":"2026-01-01T00:00:03Z"}"""),
                        });
                        break;
                    default:
                        await route.FulfillAsync(new() { Status = 204 });
                        break;
                }
            }
            else
            {
                await route.FulfillAsync(new()
                {
                    ContentType = "application/json",
                    Body = """{"id":"approval-job","runtimeStatus":"Running","progress":{"phase":"AwaitingApproval","polls":0,"elapsedSeconds":1}}""",
                });
            }
        });

        await page.GotoAsync($"{servers.QuickDashboard}#job={job}");
        var approve = page.GetByRole(AriaRole.Button, new() { Name = "Approve calculate" });
        await Expect(approve).ToBeVisibleAsync();
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Reject calculate" })).ToBeVisibleAsync();
        await Expect(page.Locator("#f-phase")).ToHaveTextAsync("AwaitingApproval");

        await page.GetByLabel("Reason (optional)").FillAsync("fine");
        await approve.ClickAsync();
        var (body, code) = await posted.Task.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        using var json = System.Text.Json.JsonDocument.Parse(body);
        Assert.Equal("call_1", json.RootElement.GetProperty("callId").GetString());
        Assert.True(json.RootElement.GetProperty("approved").GetBoolean());
        Assert.Equal("fine", json.RootElement.GetProperty("reason").GetString());
        Assert.Equal(servers.Key, code);

        await Expect(approve).ToHaveCountAsync(0);
        await Expect(page.Locator("#approvals")).ToBeHiddenAsync();
        await Expect(page.Locator("#events li[data-type='approvalDecided']")).ToContainTextAsync("approved: fine");
    }

    static string Sse(string id, string type, string data) => $"id: {id}\nevent: {type}\ndata: {data}\n\n";

    static async Task<List<string>> EventIdsOnPageAsync(IPage page) =>
        [.. await page.Locator("#events li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.eventId)")];

    [GeneratedRegex(@"^\d+ \(\d+ in, \d+ out\)$")]
    private static partial Regex TokensPattern();
}
