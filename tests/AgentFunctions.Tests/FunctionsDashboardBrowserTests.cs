using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AgentFunctions.Browser.Tests.Support;
using AgentFunctions.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AgentFunctions.Tests;

/// <summary>
/// The dashboard served by the Functions app (<c>/api/dashboard?code=…</c>) in headless Chromium, under a real
/// Functions host with function keys enforced: the page must pass the key on every call, list jobs and follow the
/// event stream (Last-Event-ID resume across a reload) through the host.
/// </summary>
public sealed class FunctionsDashboardBrowserTests(FunctionsApp app) : IAsyncLifetime
{
    IPlaywright? playwright;
    IBrowser? browser;

    static CancellationToken Token => TestContext.Current.CancellationToken;

    string Dashboard => $"{app.Host.BaseAddress}api/dashboard?code={Uri.EscapeDataString(app.FunctionKey!)}";

    public async ValueTask InitializeAsync()
    {
        SetDefaultExpectTimeout(120_000);
        (playwright, browser) = await Chromium.LaunchAsync();
    }

    async Task<IPage> NewPageAsync()
    {
        var context = await browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        context.SetDefaultTimeout(120_000);
        return await context.NewPageAsync();
    }

    [Fact]
    public async Task A_job_started_from_the_page_is_listed_and_watched_live_until_Completed()
    {
        var page = await NewPageAsync();
        await page.GotoAsync(Dashboard);
        await Expect(page.Locator("#job-rows")).ToBeAttachedAsync();

        await page.GetByLabel("Prompt").FillAsync("Hello, tell me a joke");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start job" }).ClickAsync();

        await Expect(page.Locator("#job")).ToBeVisibleAsync();
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Completed");
        await Expect(page.Locator("#reply")).ToContainTextAsync("fake reply to: Hello, tell me a joke");
        await Expect(page.Locator("#f-agent")).ToHaveTextAsync("yes");
        var id = await page.Locator("#job-id").TextContentAsync();
        await Expect(page.Locator($"#job-rows tr[data-id='{id}'] td").Nth(1)).ToHaveTextAsync("Completed");

        await Expect(page.Locator("#events li[data-type='result']")).ToHaveCountAsync(1);
        Assert.Equal(await EventIdsAsync(id!), await EventIdsOnPageAsync(page));
    }

    [Fact]
    public async Task Reloading_mid_job_resumes_the_stream_and_an_approval_from_the_page_completes_the_job()
    {
        // The tool call waits for approval, so the job is surely mid-job when the page reloads.
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/agent-jobs")
        {
            Content = JsonContent.Create(new
            {
                prompt = "Please use calculate with {\"expression\": \"6 * 7\"}",
                model = "gpt-4o-mini", // the local agent service's simulated model, which calls the tool
                tools = new[] { "calculate" },
                approval = new { tools = new[] { "calculate" } },
            }),
        };
        using var started = await app.SendAsync(request, Token);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        using var body = JsonDocument.Parse(await started.Content.ReadAsStringAsync(Token));
        var id = body.RootElement.GetProperty("id").GetString()!;

        var page = await NewPageAsync();
        await page.GotoAsync($"{Dashboard}#job={id}");
        await Expect(page.Locator("#events li[data-type='approvalRequested']")).ToHaveCountAsync(1);
        Assert.Equal(0, await page.Locator("#events li[data-type='result']").CountAsync());

        await page.ReloadAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve calculate" }).ClickAsync();
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Completed");
        await Expect(page.Locator("#reply")).ToContainTextAsync("42");

        await Expect(page.Locator("#events li[data-type='result']")).ToHaveCountAsync(1);
        var onPage = await EventIdsOnPageAsync(page);
        Assert.Equal(onPage.Count, onPage.Distinct().Count());
        Assert.Equal(await EventIdsAsync(id), onPage);
    }

    async Task<List<string>> EventIdsAsync(string id)
    {
        using var response = await app.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"api/agent-jobs/{id}/events"), Token);
        var text = await response.Content.ReadAsStringAsync(Token);
        return [.. text.Split('\n').Where(l => l.StartsWith("id: ", StringComparison.Ordinal)).Select(l => l[4..].Trim())];
    }

    static async Task<List<string>> EventIdsOnPageAsync(IPage page) =>
        [.. await page.Locator("#events li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.eventId)")];

    public async ValueTask DisposeAsync()
    {
        if (browser is not null)
        {
            await browser.DisposeAsync();
        }

        playwright?.Dispose();
    }
}
