using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using AgentFunctions.Local.Tests.Support;
using Microsoft.Playwright;

namespace AgentFunctions.Browser.Tests.Support;

/// <summary>
/// Two <c>serve</c> processes (in-memory backend, embedded agent service) and one headless Chromium, shared by the
/// dashboard tests. <see cref="Quick"/> has 3 s runs, a key (so the page must pass <c>?code=</c> on every call) and
/// event streams that close themselves after 3 s (so EventSource reconnects with Last-Event-ID during a job);
/// <see cref="Slow"/> has runs that last ten minutes, for cancelling.
/// </summary>
public sealed class DashboardServers : IAsyncLifetime
{
    static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    public string Key { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public ServeProcess Quick { get; private set; } = null!;

    public ServeProcess Slow { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    IPlaywright? playwright;

    /// <summary>The dashboard of <see cref="Quick"/>, opened with its key.</summary>
    public string QuickDashboard => $"{Quick.BaseAddress}?code={Key}";

    public async ValueTask InitializeAsync()
    {
        Assertions.SetDefaultExpectTimeout(120_000);
        var quick = ServeProcess.StartAsync(StartTimeout, new Dictionary<string, string>
        {
            ["AgentJobs__ServeKey"] = Key,
            ["AgentJobs__EventStreamMaxSeconds"] = "3",
        }, "127.0.0.1", "--simulated-run-ms", "3000", "--simulated-tokens-per-second", "40"); // paced: replies grow live
        var slow = ServeProcess.StartAsync(StartTimeout, "--simulated-run-ms", "600000");
        try
        {
            (playwright, Browser) = await Chromium.LaunchAsync();
        }
        finally
        {
            // Both processes are kept (and so killed by DisposeAsync) even when something else failed to start.
            Quick = await quick;
            Slow = await slow;
        }
    }

    /// <summary>A new page (its own context) of <paramref name="width"/> × <paramref name="height"/> CSS pixels.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 900)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        context.SetDefaultTimeout(120_000);
        return await context.NewPageAsync();
    }

    /// <summary>An HTTP client for <see cref="Quick"/>'s API, sending its key.</summary>
    public HttpClient QuickClient()
    {
        var client = new HttpClient { BaseAddress = Quick.BaseAddress, Timeout = TimeSpan.FromMinutes(3) };
        client.DefaultRequestHeaders.Add("x-functions-key", Key);
        return client;
    }

    /// <summary>Starts a job through the API; returns its id.</summary>
    public async Task<string> StartJobAsync(HttpClient client, object request)
    {
        using var response = await client.PostAsJsonAsync("api/agent-jobs", request, TestContext.Current.CancellationToken);
        Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        return body.RootElement.GetProperty("id").GetString()!;
    }

    /// <summary>Every event id of a finished job, in order, as a fresh read of its whole stream gives them.</summary>
    public static async Task<List<string>> EventIdsAsync(HttpClient client, string id)
    {
        var text = await client.GetStringAsync($"api/agent-jobs/{id}/events", TestContext.Current.CancellationToken);
        return [.. text.Split('\n').Where(l => l.StartsWith("id: ", StringComparison.Ordinal)).Select(l => l[4..].Trim())];
    }

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        playwright?.Dispose();
        foreach (var serve in new[] { Quick, Slow })
        {
            if (serve is not null)
            {
                await serve.DisposeAsync();
            }
        }
    }
}
