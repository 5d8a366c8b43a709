using AgentFunctions.Browser.Tests.Support;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AgentFunctions.Browser.Tests;

/// <summary>
/// (Part of <see cref="DashboardTests"/>, so it shares its servers and runs after its other tests, not beside them.)
/// The dashboard's session chat in headless Chromium against <c>serve</c> (its simulated model streaming at 40 words/s):
/// starting a session with a tool held for approval, approving inline, watching a reply grow and survive a reload
/// mid-reply without repeated text, steering a busy session (interrupt), cancelling a turn, ending the session.
/// </summary>
public sealed partial class DashboardTests
{
    const string CalculatePrompt = "Please use calculate with {\"expression\": \"6 * 7\"}";

    [Fact]
    public async Task A_session_is_chatted_with_from_the_page_with_live_replies_approvals_steering_and_its_end()
    {
        var page = await servers.NewPageAsync();
        // Every state a turn's reply shows while it streams is recorded, across reloads.
        await page.AddInitScriptAsync("""
            window.__replies = [];
            document.addEventListener('DOMContentLoaded', () => {
              new MutationObserver(() => {
                for (const r of document.querySelectorAll('#turns li[data-turn] .reply[data-live]')) {
                  window.__replies.push([r.parentElement.dataset.turn, r.textContent]);
                }
              }).observe(document.getElementById('turns'), { childList: true, characterData: true, subtree: true, attributes: true });
            });
            """);
        await page.GotoAsync(servers.QuickDashboard);

        // Start: a tool, held for approval.
        await page.GetByLabel("Functions the agent may call").FillAsync("calculate");
        await page.GetByLabel("Approve first").FillAsync("calculate");
        await page.GetByRole(AriaRole.Button, new() { Name = "Start session" }).ClickAsync();
        await Expect(page.Locator("#session")).ToBeVisibleAsync();
        var id = (await page.Locator("#session-id").TextContentAsync())!;
        await Expect(page.Locator($"#session-rows tr[data-id='{id}']")).ToHaveCountAsync(1);

        // Turn 1: the held call is approved inline; the reply answers it.
        await SendMessageAsync(page, CalculatePrompt);
        await page.GetByRole(AriaRole.Button, new() { Name = "Approve calculate" }).ClickAsync();
        var first = page.Locator("#turns li[data-turn='1']");
        await Expect(first).ToHaveAttributeAsync("data-outcome", "Completed");
        await Expect(first.Locator(".reply")).ToContainTextAsync("42");

        // Turn 2: a long reply grows live; the page reloads mid-reply and the reply resumes without repeating text.
        await SendMessageAsync(page, "Please write 160 words");
        var second = page.Locator("#turns li[data-turn='2'] .reply");
        await Expect(second).ToHaveAttributeAsync("data-live", "true");
        await page.WaitForFunctionAsync("() => (document.querySelector(\"#turns li[data-turn='2'] .reply\")?.textContent || '').split(' ').length > 20");
        var before = await TurnRepliesAsync(page, "2");
        await page.ReloadAsync();
        await Expect(page.Locator("#turns li[data-turn='2']")).ToHaveAttributeAsync("data-outcome", "Completed");
        var after = await TurnRepliesAsync(page, "2");
        var final = (await second.TextContentAsync())!;
        Assert.Equal(160 + 2, final.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.True(before.Length > 2, $"turn 2 did not grow before the reload ({before.Length} states)");
        Assert.All(before.Concat(after), text => Assert.StartsWith(text, final, StringComparison.Ordinal));

        // Turn 3 waits for approval (busy); an interrupting message cancels it and runs next.
        await SendMessageAsync(page, CalculatePrompt);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Approve calculate" })).ToBeVisibleAsync();
        await page.GetByLabel("If a turn is running").SelectOptionAsync("interrupt");
        await SendMessageAsync(page, "interrupting: alpha");
        await Expect(page.Locator("#turns li[data-turn='3']")).ToHaveAttributeAsync("data-outcome", "Cancelled");
        var fourth = page.Locator("#turns li[data-turn='4']");
        await Expect(fourth).ToHaveAttributeAsync("data-outcome", "Completed");
        await Expect(fourth.Locator(".reply")).ToContainTextAsync("alpha");

        // Turn 5 waits for approval; it is cancelled from the page. Then the session ends.
        await page.GetByLabel("If a turn is running").SelectOptionAsync("queue");
        await SendMessageAsync(page, CalculatePrompt);
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Approve calculate" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel turn" }).ClickAsync();
        await Expect(page.Locator("#turns li[data-turn='5']")).ToHaveAttributeAsync("data-outcome", "Cancelled");

        await page.GetByRole(AriaRole.Button, new() { Name = "End session" }).ClickAsync();
        await Expect(page.Locator("#session-status")).ToContainTextAsync("ended");
        await Expect(page.GetByRole(AriaRole.Button, new() { Name = "Send" })).ToBeDisabledAsync();
    }

    static async Task SendMessageAsync(IPage page, string message)
    {
        await page.GetByLabel("Message").FillAsync(message);
        await page.GetByRole(AriaRole.Button, new() { Name = "Send" }).ClickAsync();
        await Expect(page.GetByLabel("Message")).ToHaveValueAsync("");
    }

    static async Task<string[]> TurnRepliesAsync(IPage page, string turn) =>
        [.. (await page.EvaluateAsync<string[][]>("() => window.__replies")).Where(r => r[0] == turn).Select(r => r[1])];
}
