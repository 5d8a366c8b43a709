using System.Net.Http.Json;
using System.Text.Json;
using AgentFunctions.Browser.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AgentFunctions.Browser.Tests;

/// <summary>What the dashboard shows besides the happy path: held calls, cancelled and reply-less jobs, batch items, elapsed time, unknown ids.</summary>
public sealed partial class DashboardTests
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_form_asks_for_approvals_and_a_rejected_call_is_listed_with_the_tool_calls()
    {
        var page = await servers.NewPageAsync();
        await page.GotoAsync(servers.QuickDashboard);

        await page.GetByLabel("Prompt").FillAsync("Please use calculate with {\"expression\": \"6 * 7\"}");
        await page.GetByLabel("Tools").FillAsync("calculate");
        await page.GetByLabel("Ask me before each tool call").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Start job" }).ClickAsync();

        var reject = page.GetByRole(AriaRole.Button, new() { Name = "Reject calculate" });
        await Expect(reject).ToBeVisibleAsync();
        await Expect(page.Locator("#tool-rows tr td").Nth(2)).ToHaveTextAsync("waits for approval");
        await page.GetByLabel("Reason (optional)").FillAsync("not now");
        await reject.ClickAsync();

        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Completed");
        await Expect(page.Locator("#tool-rows tr")).ToHaveCountAsync(1);
        await Expect(page.Locator("#tool-rows tr td").Nth(0)).ToHaveTextAsync("calculate");
        await Expect(page.Locator("#tool-rows tr td").Nth(1)).ToContainTextAsync("6 * 7");
        await Expect(page.Locator("#tool-rows tr td").Nth(2)).ToHaveTextAsync("not run: rejected (not now)");

        // Long event names stay clear of their summaries.
        foreach (var type in new[] { "approvalRequested", "approvalDecided" })
        {
            var item = page.Locator($"#events li[data-type='{type}']");
            var name = await item.Locator(".type").BoundingBoxAsync();
            var summary = await item.Locator(".summary").BoundingBoxAsync();
            Assert.True(name!.X + name.Width <= summary!.X, $"{type}: the name ends at {name.X + name.Width}, its summary starts at {summary.X}");
        }
    }

    [Fact]
    public async Task A_cancelled_job_is_not_shown_green_and_without_a_reply_it_says_so()
    {
        using var client = new HttpClient { BaseAddress = servers.Slow.BaseAddress };
        var id = await servers.StartJobAsync(client, new { prompt = "Hello, tell me a joke" });
        using (var cancel = await client.PostAsJsonAsync($"api/agent-jobs/{id}/cancel", new { reason = "test" }, Token))
        {
            Assert.Equal(System.Net.HttpStatusCode.Accepted, cancel.StatusCode);
        }

        var page = await servers.NewPageAsync();
        await page.GotoAsync($"{servers.Slow.BaseAddress}#job={id}");
        await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("Cancelled");
        await Expect(page.Locator("#reply")).ToHaveTextAsync("No reply.");

        var status = page.Locator($"#job-rows tr[data-id='{id}'] td").Nth(1);
        await Expect(status).ToHaveTextAsync("Completed · Cancelled");
        var colours = await status.EvaluateAsync<string[]>("""
            cell => {
              const green = document.createElement('span');
              green.className = 'status status-Completed';
              document.body.append(green);
              const result = [getComputedStyle(cell).color, getComputedStyle(green).color];
              green.remove();
              return result;
            }
            """);
        Assert.NotEqual(colours[1], colours[0]);
    }

    [Fact]
    public async Task Items_of_one_batch_have_different_short_ids_in_the_list()
    {
        using var client = new HttpClient { BaseAddress = servers.Slow.BaseAddress };
        using var posted = await client.PostAsJsonAsync("api/agent-batches", new { prompts = new[] { "Hello one", "Hello two" } }, Token);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, posted.StatusCode);
        var batch = (await posted.Content.ReadFromJsonAsync<JsonElement>(Token)).GetProperty("id").GetString()!;
        try
        {
            var page = await servers.NewPageAsync();
            await page.GotoAsync(servers.Slow.BaseAddress.ToString());
            var first = page.Locator($"#job-rows tr[data-id='{batch}:item:0'] code");
            var second = page.Locator($"#job-rows tr[data-id='{batch}:item:1'] code");
            await Expect(first).ToBeVisibleAsync();
            await Expect(second).ToBeVisibleAsync();
            Assert.NotEqual(await first.TextContentAsync(), await second.TextContentAsync());
            await Expect(second).ToContainTextAsync(":item:1");
        }
        finally
        {
            using var cancel = await client.PostAsJsonAsync($"api/agent-batches/{batch}/cancel", new { reason = "test done" }, Token);
        }
    }

    [Fact]
    public async Task Elapsed_time_counts_up_while_a_job_runs()
    {
        using var client = new HttpClient { BaseAddress = servers.Slow.BaseAddress };
        var id = await servers.StartJobAsync(client, new { prompt = "Hello, tell me a joke" });
        try
        {
            var page = await servers.NewPageAsync();
            await page.GotoAsync($"{servers.Slow.BaseAddress}#job={id}");
            var elapsed = page.Locator("#f-elapsed");
            await Expect(elapsed).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(@"^\d+(\.\d)? s$"));

            // Three different readings while the run is still going (the slow server's runs last ten minutes).
            var seen = new HashSet<string>();
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (seen.Count < 3 && DateTime.UtcNow < deadline)
            {
                seen.Add((await elapsed.TextContentAsync())!);
                await Task.Delay(300, Token);
            }

            Assert.True(seen.Count >= 3, $"elapsed showed only: {string.Join(", ", seen)}");
            await Expect(page.Locator("#f-outcome")).ToHaveTextAsync("–");
        }
        finally
        {
            using var cancel = await client.PostAsJsonAsync($"api/agent-jobs/{id}/cancel", new { reason = "test done" }, Token);
        }
    }

    [Fact]
    public async Task An_unknown_job_in_the_address_is_not_asked_for_again_and_again()
    {
        var page = await servers.NewPageAsync();
        var asked = 0;
        page.Request += (_, request) =>
        {
            if (request.Url.Contains("/api/agent-jobs/no-such-job", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref asked);
            }
        };

        await page.GotoAsync($"{servers.Slow.BaseAddress}#job=no-such-job");
        await Expect(page.Locator("#job-error")).ToContainTextAsync("No agent job has the id 'no-such-job'");

        // The list refreshes every 2 s; three of its rounds later, the unknown job has not been asked for again (counted
        // from when the page said so: how many asks it took to learn it varies with the machine's load, e.g. an
        // EventSource reconnect, while asking every 2 s would add three or four in 7 s).
        await Expect(page.Locator("#list-state")).ToContainTextAsync("Updated");
        var learned = Volatile.Read(ref asked);
        await Task.Delay(TimeSpan.FromSeconds(7), Token);
        Assert.True(learned <= 4, $"the page asked for the unknown job {learned} times before it said so");
        Assert.True(Volatile.Read(ref asked) - learned <= 1, $"the page asked for the unknown job {asked - learned} more times after saying it is unknown");
    }
}
