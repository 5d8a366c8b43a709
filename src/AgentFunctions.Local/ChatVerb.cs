using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Deltas;
using AgentJobs.Events;
using AgentJobs.Http;
using AgentJobs.Sessions;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace AgentFunctions.Local;

/// <summary>
/// The <c>chat</c> verb: a session in the terminal. Each line of standard input is a turn (a pipe works as well as a
/// keyboard); <c>/exit</c>, the end of input or Ctrl+C ends the session, which deletes its agent.
/// </summary>
internal static class ChatVerb
{
    /// <summary>The line that ends the session.</summary>
    public const string ExitCommand = "/exit";

    /// <summary>The line that shows what chat understands (it is not sent to the model).</summary>
    public const string HelpCommand = "/help";

    static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>The session request's fields and the chat flags that set them.</summary>
    static readonly (string Field, string Flag)[] Flags =
    [
        ("idleTimeoutSeconds", "--idle-timeout"), ("instructions", "--instructions"), ("model", "--model"), ("tools", "--tool"), ("threadId", "--thread"),
    ];

    static string FlagOf(string field) =>
        Flags.FirstOrDefault(f => field == f.Field || field.StartsWith(f.Field + "[", StringComparison.Ordinal)).Flag ?? field;

    public static async Task<int> RunAsync(LocalHostOptions options, AgentSessionRequest session, CancellationToken cancellationToken)
    {
        if (await Terminal.StartOrFailAsync(() => LocalHost.StartAsync(options, cancellationToken), options.Verbose).ConfigureAwait(false) is not { } host)
        {
            return Cli.ConfigurationError;
        }

        await using (host.ConfigureAwait(false))
        {
            var services = host.Services;
            var (state, problem) = SessionRequests.Settle(
                session, services.GetRequiredService<AgentJobRequestValidator>(), services.GetRequiredService<AgentJobPolicy>(), services.GetRequiredService<AgentJobsApiOptions>());
            if (problem is not null)
            {
                // The rules are the API's; the names are the flags the user typed.
                var flag = FlagOf(problem.Field);
                Terminal.Fail($"{flag}: {Flags.Aggregate(problem.Message, (message, f) => message.Replace($"'{f.Field}'", f.Flag, StringComparison.Ordinal))}");
                return Cli.ConfigurationError;
            }

            var sessions = new AgentSessionsClient(host.Client);
            var id = await sessions.StartAsync(state!, CancellationToken.None).ConfigureAwait(false);
            var console = Terminal.Out;
            console.MarkupLine($"[bold]Agent session[/] {Markup.Escape(id)} · type a message, {ExitCommand} to end");

            var turns = 0;
            var reason = "the chat ended";
            while (true)
            {
                console.Markup("[bold]you>[/] ");
                var line = await Terminal.ReadLineAsync(cancellationToken).ConfigureAwait(false);
                if (line is null || cancellationToken.IsCancellationRequested)
                {
                    console.WriteLine();
                    reason = cancellationToken.IsCancellationRequested ? "the chat was stopped (Ctrl+C)" : reason;
                    break;
                }

                if (line.Trim() == ExitCommand)
                {
                    break;
                }

                if (line.Trim() == HelpCommand)
                {
                    console.MarkupLine($"[grey]  Each line you type is a turn the agent answers. {ExitCommand} (or end of input, or Ctrl+C) ends the session and deletes the agent; {HelpCommand} shows this. Other lines starting with / are sent as they are.[/]");
                    continue;
                }

                if (string.IsNullOrWhiteSpace(line))
                {
                    continue;
                }

                if (await sessions.SendTurnAsync(id, SessionRequests.Turn(state!, line, maxDurationSeconds: null), CancellationToken.None).ConfigureAwait(false) == TurnSent.Refused)
                {
                    console.WriteLine("The session ended for idleness before it could take this message; it was not sent.");
                    break;
                }

                var live = new LiveText(
                    services.GetService<IJobHistorySource>() ?? new DurableClientHistorySource(host.Client), services.GetRequiredService<IDeltaLog>(), InstanceIds.Turn(id, ++turns));
                var result = await WaitForTurnAsync(sessions, id, turns, console, live, cancellationToken).ConfigureAwait(false);
                if (result is null)
                {
                    console.WriteLine();
                    reason = "the chat was stopped (Ctrl+C)";
                    break;
                }

                PrintTurn(console, result, live.Text);
            }

            var running = (await sessions.GetInstanceAsync(id, getInputsAndOutputs: true, CancellationToken.None).ConfigureAwait(false))?.ReadCustomStatusAs<SessionProgress>()?.RunningTurn;
            await sessions.EndAsync(id, reason, running, CancellationToken.None).ConfigureAwait(false);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            var ended = (await sessions.WaitForEndAsync(id, wait.Token).ConfigureAwait(false)).ReadOutputAs<AgentSessionResult>();
            var tokens = ended?.Usage is { } u ? $" · {u.TotalTokens} tokens" : "";
            var cleanup = ended is { AgentId: null } ? "no agent created" : ended?.AgentDeleted == true ? "agent deleted" : $"agent {ended?.AgentId} NOT deleted";
            console.WriteLine($"Session ended · {ended?.Turns ?? turns} turn{(ended?.Turns == 1 ? "" : "s")}{tokens} · {cleanup}{(ended?.ThreadDeleted == true ? ", thread deleted" : "")}");
            return ended?.AgentDeleted == true ? 0 : Cli.JobNotCompleted;
        }
    }

    /// <summary>
    /// Waits for turn <paramref name="number"/> to finish, printing the agent's text as it is written (after
    /// <c>agent&gt;</c>); null when Ctrl+C came first (the session's end then cancels it).
    /// </summary>
    static async Task<SessionTurnResult?> WaitForTurnAsync(AgentSessionsClient sessions, string sessionId, int number, IAnsiConsole console, LiveText live, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var turn = await sessions.GetTurnAsync(sessionId, number, CancellationToken.None).ConfigureAwait(false);
            var before = live.Text.Length;
            var text = await ReadLiveAsync(live).ConfigureAwait(false);
            if (text.Length > 0)
            {
                if (before == 0)
                {
                    console.Markup("[bold]agent>[/] ");
                }

                Terminal.WriteRaw(console, text);
            }

            if (turn is { IsCompleted: true })
            {
                return turn.ReadOutputAs<SessionTurnResult>();
            }

            try
            {
                await Task.Delay(RefreshInterval, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return null;
    }

    /// <summary>The text written since the last read; a failed read of the delta log only delays the text to the reply.</summary>
    static async Task<string> ReadLiveAsync(LiveText live)
    {
        try
        {
            return await live.ReadNewAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            return "";
        }
    }

    /// <summary>
    /// Ends the turn's output: the reply (the source of truth) where it goes beyond the text already printed live, or
    /// whole when nothing was; then the tools the turn called.
    /// </summary>
    static void PrintTurn(IAnsiConsole console, SessionTurnResult turn, string printed)
    {
        var reply = turn.Reply ?? $"(no reply: {turn.Outcome}{(turn.Failure is { } f ? $", {f.Message}" : "")})";
        if (printed.Length == 0)
        {
            console.MarkupLine($"[bold]agent>[/] {Markup.Escape(reply)}");
        }
        else
        {
            Terminal.WriteRaw(console, (reply.StartsWith(printed, StringComparison.Ordinal) ? reply[printed.Length..] : "\n" + reply) + Environment.NewLine);
        }

        var tools = turn.RunSteps.SelectMany(s => s.ToolCalls).Select(c => c.Name).ToList();
        if (tools.Count > 0)
        {
            console.MarkupLine($"[grey]  (tools: {Markup.Escape(string.Join(", ", tools))})[/]");
        }
    }
}
