using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Deltas;
using AgentJobs.Events;
using AgentJobs.Hosting;
using AgentJobs.Http;
using AgentJobs.Workflow;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace AgentFunctions.Local;

/// <summary>The <c>run</c> verb: one job, live progress, then the reply, the run steps and the cleanup.</summary>
internal static class JobRunner
{
    static readonly TimeSpan RefreshInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>JSON of <c>--json</c>: the API's camelCase, indented.</summary>
    public static JsonSerializerOptions ResultJsonOptions { get; } = new(AgentJobsApi.JsonOptions) { WriteIndented = true };

    public static async Task<int> RunAsync(LocalHostOptions options, AgentJobRequest request, bool json, CancellationToken cancellationToken)
    {
        // With --json, standard output carries the result only; progress goes to standard error.
        var display = json ? Terminal.Error : Terminal.Out;
        if (await Terminal.StartOrFailAsync(() => LocalHost.StartAsync(options, cancellationToken), options.Verbose).ConfigureAwait(false) is not { } host)
        {
            return Cli.ConfigurationError;
        }

        await using (host.ConfigureAwait(false))
        {
            // The same validation as POST /api/agent-jobs, so the CLI and the API accept the same jobs.
            var validator = host.Services.GetRequiredService<AgentJobRequestValidator>();
            var (job, problem) = validator.Parse(JsonSerializer.SerializeToUtf8Bytes(request, AgentJobRequestValidator.JsonOptions));
            if (problem is not null || job is null)
            {
                Terminal.Fail($"{OptionName(problem?.Field)}: {problem?.Message}");
                return Cli.ConfigurationError;
            }

            var id = await Jobs(host).StartAsync(job, CancellationToken.None).ConfigureAwait(false);
            display.MarkupLine($"[bold]Agent job[/] {Markup.Escape(id)}");
            display.MarkupLine($"  durable backend: {Markup.Escape(host.Backend.Describe())} · agent service: {Markup.Escape(DescribeService(host))}");

            var status = await WatchAsync(host, id, display, cancellationToken).ConfigureAwait(false);
            if (status.Result is not { } result)
            {
                Terminal.Fail($"the job's orchestration ended {status.RuntimeStatus}: {status.Failure?.Message ?? "no result"}");
                return Cli.JobNotCompleted;
            }

            if (json)
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(result, ResultJsonOptions));
            }
            else
            {
                PrintResult(Terminal.Out, result, showThread: host.EmbeddedAgentService is null);
            }

            if (options.Spans is { } spans)
            {
                await PrintTraceAsync(json ? Terminal.Error : Terminal.Out, spans, id).ConfigureAwait(false);
            }

            if (result.Outcome != JobOutcome.Completed || !result.AgentDeleted)
            {
                var why = result.Failure is { } f ? $"{f.Code}: {f.Message}" : $"run {result.RunStatus}";
                Terminal.Fail($"job {result.Outcome}{(result.AgentDeleted ? "" : $" and agent {result.AgentId} NOT deleted")} ({why})");
                return Cli.JobNotCompleted;
            }

            return 0;
        }
    }

    /// <summary>
    /// Prints the job's trace (<c>--trace</c>): the one that holds the <c>create_orchestration</c> span of this job.
    /// The last activity's span ends just after it reports its result, so wait briefly for the spans to settle.
    /// </summary>
    static AgentJobsClient Jobs(LocalHost host) => new(host.Client, host.Services.GetRequiredService<AgentJobPolicy>());

    static async Task PrintTraceAsync(IAnsiConsole console, SpanCollector spans, string id)
    {
        var count = -1;
        for (var i = 0; i < 20 && spans.Spans.Count != count; i++)
        {
            count = spans.Spans.Count;
            await Task.Delay(50).ConfigureAwait(false);
        }

        console.WriteLine();
        console.MarkupLine("[bold]Trace[/]");
        foreach (var line in SpanTree.Render(spans.Spans, s => Equals(s.GetTagItem("durabletask.task.instance_id"), id)))
        {
            console.WriteLine("  " + line);
        }
    }

    /// <summary>
    /// Polls the job through the API's own GET handler and shows the progress until it ends; Ctrl+C cancels the job
    /// gracefully. Tool calls held for approval (<c>--approve</c>) are asked about one by one, then watching goes on.
    /// </summary>
    static async Task<AgentJobStatus> WatchAsync(LocalHost host, string id, IAnsiConsole display, CancellationToken cancellationToken)
    {
        var reader = host.Services.GetRequiredService<AgentJobStatusReader>();
        var clock = Stopwatch.StartNew();
        var cancelSent = false;
        var asked = new HashSet<string>(StringComparer.Ordinal);
        string? lastShown = null;

        // The agent's words as they are written (the delta log): once they flow, they are the progress shown.
        var live = new LiveText(
            host.Services.GetService<IJobHistorySource>() ?? new DurableClientHistorySource(host.Client), host.Services.GetRequiredService<IDeltaLog>(), id);
        var textMode = false;
        var leaveSpinner = false;
        string? pendingText = null;
        async Task<bool> ShowTextAsync(bool inSpinner)
        {
            string text;
            try
            {
                text = await live.ReadNewAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                return false; // the text comes with the reply
            }

            if (text.Length == 0)
            {
                return false;
            }

            if (!textMode && inSpinner)
            {
                pendingText = text; // printed once the spinner is gone
                return leaveSpinner = true;
            }

            WriteText(text);
            return false;
        }

        void WriteText(string text)
        {
            if (!textMode)
            {
                textMode = true;
                display.MarkupLine($"  {clock.Elapsed.TotalSeconds,5:0.0}s  [bold]Agent[/]");
            }

            Terminal.WriteRaw(display, text);
        }

        // Returns the final status, or null when held calls wait for an answer or the agent's text starts in a spinner.
        async Task<AgentJobStatus?> Loop(Action<string> show, bool inSpinner)
        {
            while (true)
            {
                if (cancellationToken.IsCancellationRequested && !cancelSent)
                {
                    // Sent, or moot because the job has ended; only a job still waiting to start is tried again.
                    cancelSent = await Jobs(host).CancelAsync(id, "the command line was stopped (Ctrl+C or SIGTERM)", CancellationToken.None)
                        .ConfigureAwait(false) != JobEvents.RaiseResult.NotStarted;
                }

                var status = await reader.ReadAsync(id, CancellationToken.None).ConfigureAwait(false)
                             ?? throw new InvalidOperationException($"Agent job {id} vanished.");
                if (status.RuntimeStatus is "Completed" or "Failed" or "Terminated")
                {
                    if (textMode)
                    {
                        await ShowTextAsync(inSpinner: false).ConfigureAwait(false); // the rest of it
                        Terminal.WriteRaw(display, Environment.NewLine);
                    }

                    return status;
                }

                if (await ShowTextAsync(inSpinner).ConfigureAwait(false))
                {
                    return null;
                }

                if (!textMode)
                {
                    show(Describe(status.Progress, cancelSent));
                }

                if (!cancelSent && status.Progress?.PendingApprovals?.Any(p => !asked.Contains(p.CallId)) == true)
                {
                    return null;
                }

                await Task.Delay(RefreshInterval, CancellationToken.None).ConfigureAwait(false);
            }
        }

        while (true)
        {
            AgentJobStatus? final = null;
            if (display.Profile.Capabilities.Interactive && !textMode)
            {
                await display.Status().Spinner(Spinner.Known.Dots).StartAsync("Starting", async context =>
                {
                    final = await Loop(text => context.Status(Markup.Escape($"{text} · {clock.Elapsed.TotalSeconds:0.0} s")), inSpinner: true).ConfigureAwait(false);
                }).ConfigureAwait(false);
            }
            else
            {
                // Not a terminal (or the agent's text is flowing): one plain line per change, no cursor movement, no colour.
                final = await Loop(text =>
                {
                    if (text != lastShown)
                    {
                        lastShown = text;
                        display.WriteLine($"  {clock.Elapsed.TotalSeconds,5:0.0}s  {text}");
                    }
                }, inSpinner: false).ConfigureAwait(false);
            }

            if (final is not null)
            {
                return final;
            }

            if (leaveSpinner)
            {
                leaveSpinner = false;
                WriteText(pendingText ?? "");
                continue;
            }

            await AskAsync(host, id, display, asked, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Asks about each held call not asked about yet: "y" or "yes" runs it; anything else rejects it (what follows
    /// "n " is the reason the model gets). A closed standard input or Ctrl+C rejects what is left.
    /// </summary>
    static async Task AskAsync(LocalHost host, string id, IAnsiConsole display, HashSet<string> asked, CancellationToken cancellationToken)
    {
        var metadata = await Jobs(host).GetInstanceAsync(id, getInputsAndOutputs: true, CancellationToken.None).ConfigureAwait(false);
        foreach (var call in JobApprovals.Pending(metadata?.SerializedCustomStatus).Where(p => asked.Add(p.CallId)))
        {
            display.Markup($"[bold]Approve[/] {Markup.Escape(call.Tool)}({Markup.Escape(Compact(call.Arguments))})? [[y/N, or n <reason>]] ");

            // The question stands only while the call waits: the prompt stops waiting when the job decides it
            // (its approval timeout) or ends, as well as on Ctrl+C.
            using var standing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var watch = WatchQuestionAsync(host, id, call.CallId, standing);
            var answer = cancellationToken.IsCancellationRequested ? null : await Terminal.ReadLineAsync(standing.Token).ConfigureAwait(false);
            var moot = standing.IsCancellationRequested && !cancellationToken.IsCancellationRequested;
            await standing.CancelAsync().ConfigureAwait(false);
            await watch.ConfigureAwait(false);
            if (answer is null)
            {
                display.WriteLine();
            }

            if (moot)
            {
                display.MarkupLine($"  [yellow]no answer[/] for {Markup.Escape(call.CallId)}: the job decided it (its approval timeout) or ended");
                continue;
            }

            var words = (answer ?? "").Trim();
            var approved = words.Equals("y", StringComparison.OrdinalIgnoreCase) || words.Equals("yes", StringComparison.OrdinalIgnoreCase);
            var reason = approved ? null
                : answer is null ? "no answer at the terminal"
                : words.Length > 1 && words[0] is 'n' or 'N' && char.IsWhiteSpace(words[1]) ? words[2..].Trim()
                : "rejected at the terminal";
            var sent = await Jobs(host).DecideAsync(id, new ApprovalDecision(call.CallId, approved, reason, Environment.UserName), CancellationToken.None)
                .ConfigureAwait(false);
            display.MarkupLine(sent == JobApprovals.Outcome.Sent
                ? $"  {(approved ? "[green]approved[/]" : "[red]rejected[/]")} {Markup.Escape(call.CallId)}"
                : $"  [yellow]not sent[/] ({sent}): the call was decided or the job moved on");
        }
    }

    /// <summary>Cancels <paramref name="standing"/> once <paramref name="callId"/> no longer waits for approval (decided, or the job ended).</summary>
    static async Task WatchQuestionAsync(LocalHost host, string id, string callId, CancellationTokenSource standing)
    {
        try
        {
            while (!standing.IsCancellationRequested)
            {
                await Task.Delay(RefreshInterval, standing.Token).ConfigureAwait(false);
                var metadata = await Jobs(host).GetInstanceAsync(id, getInputsAndOutputs: true, standing.Token).ConfigureAwait(false);
                if (metadata is null || metadata.IsCompleted || !JobApprovals.Pending(metadata.SerializedCustomStatus).Any(p => p.CallId == callId))
                {
                    await standing.CancelAsync().ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The answer came, Ctrl+C, or the question lapsed.
        }
    }

    static string Describe(JobProgress? progress, bool cancelSent)
    {
        if (progress is null)
        {
            return "Starting";
        }

        var text = progress.Phase.ToString();
        if (progress.RunStatus is { } run)
        {
            text += $" · run {run}";
        }

        if (progress.Polls > 0)
        {
            text += $" · {progress.Polls} poll{(progress.Polls == 1 ? "" : "s")}";
        }

        if (progress.PendingToolCalls is { Count: > 0 } tools && progress.Phase == JobPhase.RunningTools)
        {
            text += $" · tools {string.Join(", ", tools)}";
        }

        if (progress.PendingApprovals is { Count: > 0 } held)
        {
            text += $" · {held.Count} call{(held.Count == 1 ? "" : "s")} awaiting approval";
        }

        return cancelSent ? text + " · cancel requested" : text;
    }

    static void PrintResult(IAnsiConsole console, AgentJobResult result, bool showThread)
    {
        console.WriteLine();
        console.MarkupLine("[bold]Reply[/]");
        foreach (var line in (result.Reply ?? "(no reply)").ReplaceLineEndings("\n").Split('\n'))
        {
            console.WriteLine("  " + line);
        }

        console.WriteLine();
        console.MarkupLine("[bold]Run steps[/]");
        var n = 0;
        foreach (var step in result.RunSteps)
        {
            n++;
            var detail = step.Type == "tool_calls"
                ? string.Join("; ", step.ToolCalls.Select(c => $"{c.Name}({Compact(c.Arguments)}){(c.Output is null ? "" : " → " + Compact(c.Output))}{Decision(c.Approval)}"))
                : step.MessageId is null ? "" : "message " + step.MessageId;
            console.WriteLine($"  {n}. {step.Type} ({step.Status}) {detail}".TrimEnd());
        }

        if (n == 0)
        {
            console.WriteLine("  (none)");
        }

        console.WriteLine();
        var tokens = result.Usage is { } u ? $" · {u.TotalTokens} tokens" : "";
        var cleanup = result.AgentId is null ? "no agent created" : result.AgentDeleted ? "agent deleted" : $"agent {result.AgentId} NOT deleted";
        if (result.ThreadDeleted)
        {
            cleanup += ", thread deleted";
        }

        var colour = result.Outcome == JobOutcome.Completed ? "green" : "red";
        console.MarkupLine(
            $"[{colour}]{result.Outcome}[/] (run {Markup.Escape(result.RunStatus ?? "none")}) in {result.ElapsedSeconds:0.0} s · " +
            $"{result.Polls} poll{(result.Polls == 1 ? "" : "s")} · {result.ToolCalls} tool call{(result.ToolCalls == 1 ? "" : "s")}{tokens} · {Markup.Escape(cleanup)}");
        if (showThread && result.ThreadId is { } thread && !result.ThreadDeleted)
        {
            console.WriteLine($"  thread {thread} (continue it with --thread {thread})");
        }
    }

    static string Decision(JobApproval? approval) => approval is null ? ""
        : $" [{(approval.Approved ? "approved" : "rejected")}{(approval.DecidedBy is { } by ? " by " + by : "")}{(approval.Reason is { } why ? ": " + why : "")}]";

    /// <summary>JSON on one line, readable (no \u escapes); other text unchanged.</summary>
    static string Compact(string text)
    {
        try
        {
            return JsonNode.Parse(text)?.ToJsonString(CompactJson) ?? text;
        }
        catch (JsonException)
        {
            return text.ReplaceLineEndings(" ");
        }
    }

    static readonly JsonSerializerOptions CompactJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    static string DescribeService(LocalHost host) => host.EmbeddedAgentService is { } embedded
        ? $"embedded, simulated model, {host.AgentService.BaseUri} ({host.AgentService.Protocol})"
        : $"{host.AgentService.BaseUri} ({host.AgentService.Protocol})";

    static string OptionName(string? field) => field switch
    {
        "prompt" => "prompt",
        "tools" => "--tool",
        "maxDurationSeconds" => "--max-duration",
        "model" => "--model",
        "instructions" => "--instructions",
        "agentName" => "--agent-name",
        "threadId" => "--thread",
        "maxToolRounds" => "--max-tool-rounds",
        "maxTotalTokens" => "--max-total-tokens",
        _ => field ?? "request",
    };
}
