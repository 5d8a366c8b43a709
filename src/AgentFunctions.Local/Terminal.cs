using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace AgentFunctions.Local;

/// <summary>Spectre consoles that degrade to plain text when the stream is not a terminal (tests, CI, pipes).</summary>
internal static class Terminal
{
    /// <summary>Wide enough that redirected output is never wrapped.</summary>
    const int RedirectedWidth = 4096;

    public static IAnsiConsole Out { get; } = Create(Console.Out, Console.IsOutputRedirected);

    public static IAnsiConsole Error { get; } = Create(Console.Error, Console.IsErrorRedirected);

    static IAnsiConsole Create(TextWriter writer, bool redirected)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = redirected ? AnsiSupport.No : AnsiSupport.Detect,
            ColorSystem = redirected ? ColorSystemSupport.NoColors : ColorSystemSupport.Detect,
            Interactive = redirected ? InteractionSupport.No : InteractionSupport.Detect,
        });
        if (redirected)
        {
            console.Profile.Width = RedirectedWidth;
        }

        return console;
    }

    /// <summary>Writes text exactly as it is (no markup, no wrapping) and flushes: the agent's words as they arrive.</summary>
    public static void WriteRaw(IAnsiConsole console, string text)
    {
        ArgumentNullException.ThrowIfNull(console);
        console.Profile.Out.Writer.Write(text);
        console.Profile.Out.Writer.Flush();
    }

    /// <summary>
    /// Starts the host, or reports why it cannot start in one line and returns null; with <paramref name="verbose"/>
    /// the exception's full details (stack traces) follow the line.
    /// </summary>
    public static async Task<LocalHost?> StartOrFailAsync(Func<Task<LocalHost>> start, bool verbose)
    {
        try
        {
            return await start().ConfigureAwait(false);
        }
        catch (LocalHostException ex)
        {
            Fail(ex.Message);
            Details(ex.InnerException, verbose);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            Fail($"the local host could not start: {Describe(ex)}");
            Details(ex, verbose);
        }

        return null;
    }

    /// <summary>An exception's message; for an aggregate (such as a retry policy's), its distinct inner messages.</summary>
    public static string Describe(Exception exception)
    {
        if (exception is AggregateException aggregate && aggregate.Flatten().InnerExceptions is { Count: > 0 } inner)
        {
            var messages = string.Join("; ", inner.Select(e => e.Message).Distinct(StringComparer.Ordinal));
            return inner.Count > 1 ? $"{messages} ({inner.Count} attempts)" : messages;
        }

        return exception.Message;
    }

    static void Details(Exception? exception, bool verbose)
    {
        if (verbose && exception is not null)
        {
            Console.Error.WriteLine(exception.ToString());
        }
    }

    /// <summary>One line for a one-line error: newlines folded, prefixed with "error: ".</summary>
    public static void Fail(string message) =>
        Console.Error.WriteLine("error: " + message.ReplaceLineEndings(" ").Trim());

    static readonly Lock PendingLineLock = new();
    static Task<string?>? pendingLine;

    /// <summary>
    /// A line of standard input (a keyboard or a pipe); null when it is closed or <paramref name="cancellationToken"/>
    /// (Ctrl+C, or the question no longer standing) comes first. A console read cannot be cancelled, so a read given
    /// up on stays pending and the next call takes its line: no line typed is lost to an abandoned read.
    /// </summary>
    public static async Task<string?> ReadLineAsync(CancellationToken cancellationToken)
    {
        Task<string?> line;
        lock (PendingLineLock)
        {
            line = pendingLine ??= Task.Run(Console.In.ReadLine, CancellationToken.None);
        }

        var first = await Task.WhenAny(line, Task.Delay(Timeout.Infinite, cancellationToken)).ConfigureAwait(false);
        if (first != line)
        {
            return null;
        }

        lock (PendingLineLock)
        {
            if (pendingLine == line)
            {
                pendingLine = null;
            }
        }

        return await line.ConfigureAwait(false);
    }
}

/// <summary>
/// The command line owns Ctrl+C (System.CommandLine cancels the action's token), so the host must not also stop
/// itself on the signal: <c>run</c> turns Ctrl+C into a graceful job cancel and needs the host alive for it.
/// </summary>
internal sealed class CommandLineLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
