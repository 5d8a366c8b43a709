using Microsoft.Playwright;

namespace AgentFunctions.Browser.Tests.Support;

/// <summary>
/// The system's Chromium (Debian's <c>chromium</c> package, which <c>.ci/run</c> installs), driven by Playwright's
/// bundled driver: no browser download. <c>CHROMIUM_PATH</c> names another executable.
/// </summary>
public static class Chromium
{
    /// <summary>The environment variable that overrides where Chromium is.</summary>
    public const string PathVariable = "CHROMIUM_PATH";

    /// <summary>Chromium's executable; throws, saying how to install it, when there is none.</summary>
    public static string ExecutablePath()
    {
        if (Environment.GetEnvironmentVariable(PathVariable) is { Length: > 0 } configured)
        {
            return File.Exists(configured)
                ? configured
                : throw new InvalidOperationException(
                    $"{PathVariable} is '{configured}', which does not exist. Point it at a Chromium or Chrome executable, " +
                    "or unset it to use Debian's chromium from PATH (sudo apt-get install -y chromium).");
        }

        var found = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(dir => new[] { "chromium", "chromium-browser" }.Select(name => Path.Combine(dir, name)))
            .FirstOrDefault(File.Exists);
        return found ?? throw new InvalidOperationException(
            "The browser tests need Chromium and found none on PATH. Install Debian's package " +
            "(sudo apt-get install -y chromium; .ci/run does this), or set " + PathVariable + " to a Chromium or Chrome executable.");
    }

    /// <summary>Starts headless Chromium, with extra command-line <paramref name="args"/> if any.</summary>
    public static async Task<(IPlaywright Playwright, IBrowser Browser)> LaunchAsync(params string[] args)
    {
        var executable = ExecutablePath();
        var playwright = await Playwright.CreateAsync();
        try
        {
            var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
            {
                ExecutablePath = executable,
                Headless = true,
                Timeout = 120_000,
                Args = args,
            });
            return (playwright, browser);
        }
        catch
        {
            playwright.Dispose();
            throw;
        }
    }
}
