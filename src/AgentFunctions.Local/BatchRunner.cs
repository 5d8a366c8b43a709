using System.Text.Json;
using AgentJobs.Application;
using AgentJobs.Batches;
using AgentJobs.Contracts;
using AgentJobs.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace AgentFunctions.Local;

/// <summary>
/// <c>run --batch prompts.txt</c>: one prompt per line as an agent batch (the API's batch orchestrator, validated and
/// settled as <c>POST /api/agent-batches</c> does), a progress bar while it runs, then a summary table by outcome and
/// one line per item. Exit code 0 when every item completed, 1 otherwise, 2 for a bad file or setting.
/// </summary>
internal static class BatchRunner
{
    public static async Task<int> RunAsync(LocalHostOptions options, FileInfo file, AgentJobRequest settings, int? maxParallel, bool json, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            Terminal.Fail($"--batch: {file.FullName} does not exist.");
            return Cli.ConfigurationError;
        }

        var prompts = (await File.ReadAllLinesAsync(file.FullName, cancellationToken).ConfigureAwait(false))
            .Select(l => l.Trim()).Where(l => l.Length > 0).ToList();
        if (prompts.Count == 0)
        {
            Terminal.Fail($"--batch: {file.FullName} has no prompts (it is empty or every line is blank); write one prompt per line.");
            return Cli.ConfigurationError;
        }
        var display = json ? Terminal.Error : Terminal.Out;
        if (await Terminal.StartOrFailAsync(() => LocalHost.StartAsync(options, cancellationToken), options.Verbose).ConfigureAwait(false) is not { } host)
        {
            return Cli.ConfigurationError;
        }

        await using (host.ConfigureAwait(false))
        {
            // The CLI's job settings as the shared template; approvals are not a --batch option.
            var body = new AgentBatchRequest { Prompts = prompts, MaxParallel = maxParallel, Template = settings with { Prompt = "", Approval = null } };
            var api = host.Services.GetRequiredService<AgentBatchesApi>();
            var (batch, problem) = api.Parse(JsonSerializer.SerializeToUtf8Bytes(body, AgentJobRequestValidator.JsonOptions));
            if (problem is not null || batch is null)
            {
                Terminal.Fail($"{(problem?.Field.StartsWith("prompts[", StringComparison.Ordinal) == true ? "--batch line " + problem.Field : problem?.Field)}: {problem?.Message}");
                return Cli.ConfigurationError;
            }

            var batches = new AgentBatchesClient(host.Client, host.Services.GetRequiredService<AgentJobPolicy>());
            var work = batches.Settle(batch);
            var id = await batches.StartAsync(work, CancellationToken.None).ConfigureAwait(false);
            display.MarkupLine($"[bold]Agent batch[/] {Markup.Escape(id)} · {prompts.Count} prompts, {work.MaxParallel} at a time · durable backend: {Markup.Escape(host.Backend.Describe())}");

            AgentBatchProgress? last = null;
            await display.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async progress =>
                {
                    var bar = progress.AddTask("items", maxValue: prompts.Count);
                    while (true)
                    {
                        var instance = await batches.GetAsync(id, cancellationToken).ConfigureAwait(false);
                        last = instance?.IsCompleted == true ? instance.ReadOutputAs<AgentBatchProgress>() : instance?.ReadCustomStatusAs<AgentBatchProgress>() ?? last;
                        if (last is not null)
                        {
                            bar.Value = last.Finished + last.NotStarted;
                            bar.Description = $"{last.Finished}/{last.Total} done · {last.Running.Count} running";
                        }

                        if (instance?.IsCompleted == true)
                        {
                            bar.StopTask();
                            return;
                        }

                        await Task.Delay(200, cancellationToken).ConfigureAwait(false);
                    }
                }).ConfigureAwait(false);

            var items = new List<(int Index, AgentJobResult? Result)>();
            for (var i = 0; i < prompts.Count; i++)
            {
                var item = await batches.GetItemAsync(id, i, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
                items.Add((i, item?.RuntimeStatus == OrchestrationRuntimeStatus.Completed ? item.ReadOutputAs<AgentJobResult>() : null));
            }

            if (json)
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(new { id, progress = last, items = items.Select(i => new { i.Index, i.Result?.Outcome, i.Result?.Reply, i.Result?.Failure, i.Result?.AgentDeleted }) }, JobRunner.ResultJsonOptions));
            }
            else
            {
                PrintSummary(Terminal.Out, last, items, prompts);
            }

            var completed = last?.Outcomes.GetValueOrDefault(nameof(JobOutcome.Completed)) ?? 0;
            return completed == prompts.Count ? 0 : Cli.JobNotCompleted;
        }
    }

    static void PrintSummary(IAnsiConsole console, AgentBatchProgress? progress, List<(int Index, AgentJobResult? Result)> items, List<string> prompts)
    {
        var summary = new Table().Title("Outcomes").AddColumn("outcome").AddColumn(new TableColumn("items").RightAligned());
        foreach (var (outcome, count) in progress?.Outcomes ?? new Dictionary<string, int>())
        {
            summary.AddRow(Markup.Escape(outcome), count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (progress is { NotStarted: > 0 })
        {
            summary.AddRow("never started", progress.NotStarted.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        console.Write(summary);
        var table = new Table().AddColumn("#").AddColumn("prompt").AddColumn("outcome").AddColumn("reply / failure").AddColumn("agent deleted");
        foreach (var (index, result) in items)
        {
            var text = result?.Reply ?? result?.Failure?.Message ?? "";
            table.AddRow(
                index.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(Cut(prompts[index], 40)),
                Markup.Escape(result?.Outcome.ToString() ?? "not run"),
                Markup.Escape(Cut(text, 60)),
                result is null ? "" : result.AgentDeleted ? "yes" : "[red]no[/]");
        }

        console.Write(table);
        var agentsLeft = items.Count(i => i.Result is { AgentDeleted: false });
        console.MarkupLine($"{items.Count(i => i.Result is not null)} of {prompts.Count} items ran · {agentsLeft} agents left");
    }

    static string Cut(string text, int max) => text.Length <= max ? text.ReplaceLineEndings(" ") : text[..(max - 1)].ReplaceLineEndings(" ") + "…";
}
