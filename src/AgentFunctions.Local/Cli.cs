using System.CommandLine;
using AgentFunctions.Local.Bench;
using AgentJobs.Contracts;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local;

/// <summary>The command line: <c>run</c>, <c>serve</c> and <c>bench</c>.</summary>
public static class Cli
{
    /// <summary>Exit code of a job that did not complete.</summary>
    public const int JobNotCompleted = 1;

    /// <summary>Exit code of a usage or configuration error (the host did not start, or the request was invalid).</summary>
    public const int ConfigurationError = 2;

    static readonly Option<string?> Storage = new("--storage")
    {
        Description = "Azure Storage connection string for the persistent durable backend (UseDevelopmentStorage=true for Azurite): " +
            "jobs survive a crash or restart and resume when a host starts again on the same storage and task hub. Default: in-memory.",
    };

    static readonly Option<string?> TaskHub = new("--task-hub") { Description = "Task hub name (default AgentJobsLocal)." };

    static readonly Option<string?> WorkerId = new("--worker-id")
    {
        Description = "With --storage: this process's name on the task hub (default: the machine name). Several processes sharing a task hub " +
            "each need their own; a process restarted with its old name takes its partitions back at once.",
    };

    static readonly Option<int?> PartitionLease = new("--partition-lease")
    {
        Description = "With --storage: seconds a partition lease lasts without renewal (default 30, at least 3). When a process on a shared " +
            "task hub dies, the others take its partitions this long after its last renewal (renewed every third of it).",
    };

    static readonly Option<string?> Endpoint = new("--endpoint")
    {
        Description = "A real agent service (same as AgentService__Endpoint). Default: the embedded local agent service with a simulated model.",
    };

    static readonly Option<string?> ApiKey = new("--api-key") { Description = "API key of that service (same as AgentService__ApiKey)." };

    static readonly Option<string?> Protocol = new("--protocol") { Description = "classic or foundry (same as AgentService__Protocol).", };

    static readonly Option<int?> SimulatedRunMs = new("--simulated-run-ms")
    {
        Description = "How long a run of the embedded service's simulated model stays in progress, in ms (default 400).",
    };

    static readonly Option<double?> SimulatedTokensPerSecond = new("--simulated-tokens-per-second")
    {
        Description = "The pace at which the embedded service's simulated model streams its text, in tokens (words) per second (default: all at once).",
    };

    static readonly Option<int?> SimulatedFirstTokenMs = new("--simulated-first-token-ms")
    {
        Description = "With a pace, the simulated model's delay before its first token, in ms (default 0).",
    };

    static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "More logging (run: Information, to standard error; serve: Debug), and the full details (stack traces) of a failed start.",
    };

    static readonly Option<string[]> McpServers = new("--mcp-server")
    {
        Description = "An MCP server jobs may take tools from, as <name>=<Streamable HTTP URL> (repeatable; same as " +
            "AgentJobs__McpServers__<name>__Url). Jobs then name its tools <name>/<tool> or <name>/*.",
    };

    static readonly Option<string?> OtlpEndpoint = new("--otlp-endpoint")
    {
        Description = "Export traces and metrics over OTLP to this URL, e.g. http://localhost:4318 (same as OTEL_EXPORTER_OTLP_ENDPOINT; " +
            "OTLP/HTTP protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL=grpc).",
    };

    /// <summary>
    /// Parses and runs the command line. A command line that does not parse (unknown option, missing or malformed
    /// value) is an invalid request: one <c>error:</c> line per problem on standard error and exit code
    /// <see cref="ConfigurationError"/>, as the README promises, rather than the parser's default 1 and full help.
    /// </summary>
    public static Task<int> InvokeAsync(string[] args)
    {
        var parse = Build().Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
        {
            foreach (var error in parse.Errors)
            {
                Console.Error.WriteLine($"error: {Readable(error.Message)}");
            }

            Console.Error.WriteLine($"Run '{(parse.CommandResult.Command is RootCommand ? "" : parse.CommandResult.Command.Name + " ")}--help' for the options.");
            return Task.FromResult(ConfigurationError);
        }

        return parse.InvokeAsync(new InvocationConfiguration
        {
            // Ctrl+C cancels the job gracefully (its agent is still deleted); give that time to finish.
            ProcessTerminationTimeout = TimeSpan.FromSeconds(90),
        });
    }

    /// <summary>The parser's messages with the value's kind in words instead of a .NET type name.</summary>
    static string Readable(string message)
    {
        var match = System.Text.RegularExpressions.Regex.Match(message, @"^Cannot parse argument '(?<value>.*)' for option '(?<option>[^']+)' as expected type '(?<type>[^']+)'\.?$");
        if (!match.Success)
        {
            return message;
        }

        var type = match.Groups["type"].Value;
        var kind = type.Contains("Int32", StringComparison.Ordinal) || type.Contains("Int64", StringComparison.Ordinal) ? "a whole number"
            : type.Contains("Boolean", StringComparison.Ordinal) ? "true or false"
            : type.Contains("Double", StringComparison.Ordinal) ? "a number"
            : "a valid value";
        return $"{match.Groups["option"].Value} takes {kind}; got '{match.Groups["value"].Value}'.";
    }

    /// <summary>The command tree.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("Durable agent jobs with no Azure: an embedded durable backend, the workflow and a local agent service.");
        root.Subcommands.Add(RunCommand());
        root.Subcommands.Add(ChatCommand());
        root.Subcommands.Add(ServeCommand());
        root.Subcommands.Add(BenchCommand());
        return root;
    }

    static Command RunCommand()
    {
        var prompt = new Argument<string?>("prompt") { Description = "The user message, e.g. \"Hello, tell me a joke\".", Arity = ArgumentArity.ZeroOrOne };
        var batch = new Option<FileInfo?>("--batch") { Description = "Run a batch instead: one prompt per line of this file (blank lines skipped), with a progress bar and a summary." };
        var maxParallel = new Option<int?>("--max-parallel") { Description = "With --batch: items running at once (default 10)." };
        var model = new Option<string?>("--model") { Description = $"Model deployment (default {AgentJobDefaults.Model})." };
        var instructions = new Option<string?>("--instructions") { Description = $"Agent instructions (default \"{AgentJobDefaults.Instructions}\")." };
        var agentName = new Option<string?>("--agent-name") { Description = $"Agent name (default {AgentJobDefaults.AgentName})." };
        var tools = new Option<string[]>("--tool")
        {
            Description = "A function tool the agent may call (repeatable): get_utc_now, calculate, or <server>/<tool> and <server>/* " +
                "of a configured MCP server (the agent sees <server>__<tool>).",
        };
        var maxDuration = new Option<int?>("--max-duration") { Description = $"Seconds before the run is cancelled and the job times out (default {AgentJobDefaults.MaxDurationSeconds})." };
        var maxToolRounds = new Option<int?>("--max-tool-rounds") { Description = $"Budget: tool rounds the agent may ask for (default {AgentJobDefaults.MaxToolRounds})." };
        var maxTotalTokens = new Option<long?>("--max-total-tokens") { Description = "Budget: total tokens the job's runs may use (default none)." };
        var thread = new Option<string?>("--thread") { Description = "Continue an existing thread instead of creating one." };
        var json = new Option<bool>("--json") { Description = "Print the job result as JSON on standard output, nothing else." };
        var trace = new Option<bool>("--trace") { Description = "After the result, print the job's trace as a compact span tree (to standard error with --json)." };
        var approve = new Option<bool>("--approve")
        {
            Description = "Hold every tool call for your approval: the job asks y/n on the terminal (or reads the answer from standard input) before each call runs.",
        };
        var approvalTimeout = new Option<int?>("--approval-timeout")
        {
            Description = $"With --approve: seconds a call waits for an answer before it is rejected (default {ApprovalPolicy.DefaultTimeoutSeconds}).",
        };

        var command = new Command("run", "Run one agent job and print its reply, run steps and cleanup.")
        {
            prompt, model, instructions, agentName, tools, maxDuration, maxToolRounds, maxTotalTokens, thread, json, approve, approvalTimeout, batch, maxParallel, trace,
        };
        AddHostOptions(command);
        command.SetAction(async (parse, ct) =>
        {
            if (HostOptionProblem(parse) is { } hostProblem)
            {
                Terminal.Fail(hostProblem);
                return ConfigurationError;
            }

            var request = new AgentJobRequest(
                parse.GetValue(prompt) ?? "",
                parse.GetValue(instructions),
                parse.GetValue(model),
                parse.GetValue(agentName),
                parse.GetValue(tools) is { Length: > 0 } t ? t : null,
                parse.GetValue(thread),
                MaxDurationSeconds: parse.GetValue(maxDuration),
                MaxToolRounds: parse.GetValue(maxToolRounds),
                MaxTotalTokens: parse.GetValue(maxTotalTokens),
                Approval: parse.GetValue(approve) ? new ApprovalPolicy([ApprovalPolicy.AllTools], parse.GetValue(approvalTimeout)) : null);
            var options = HostOptions(parse);
            options.LogLevel = parse.GetValue(Verbose) ? LogLevel.Information : LogLevel.Error;
            options.PrintsOutcomes = true;
            if (parse.GetValue(trace))
            {
                options.Spans = new SpanCollector();
            }

            if (parse.GetValue(approvalTimeout) is not null && !parse.GetValue(approve))
            {
                Terminal.Fail("--approval-timeout: it is how long a call waits for your answer, so it goes with --approve.");
                return ConfigurationError;
            }

            if (parse.GetValue(batch) is { } file)
            {
                if (parse.GetValue(prompt) is { } alone)
                {
                    Terminal.Fail($"prompt: a batch takes its prompts from the file, so '{(alone.Length > 40 ? alone[..40] + "…" : alone)}' would not run; " +
                        "give either a prompt or --batch <file>, or add the prompt as a line of the file.");
                    return ConfigurationError;
                }

                if (request.Approval is not null)
                {
                    Terminal.Fail("--approve: a batch cannot ask for approvals on the terminal; POST the batch with an 'approval' policy to serve and decide each item's calls with POST /api/agent-jobs/{itemId}/approvals.");
                    return ConfigurationError;
                }

                if (options.Spans is not null)
                {
                    Terminal.Fail("--trace: prints one job's trace, so it does not go with --batch; use --otlp-endpoint for a batch's traces.");
                    return ConfigurationError;
                }

                return await BatchRunner.RunAsync(options, file, request, parse.GetValue(maxParallel), parse.GetValue(json), ct).ConfigureAwait(false);
            }

            if (parse.GetValue(prompt) is null)
            {
                Terminal.Fail("prompt: give a prompt, or --batch <file> with one prompt per line.");
                return ConfigurationError;
            }

            return await JobRunner.RunAsync(options, request, parse.GetValue(json), ct).ConfigureAwait(false);
        });
        return command;
    }

    static Command ChatCommand()
    {
        var model = new Option<string?>("--model") { Description = $"Model deployment (default {AgentJobDefaults.Model})." };
        var instructions = new Option<string?>("--instructions") { Description = $"Agent instructions (default \"{AgentJobDefaults.Instructions}\")." };
        var tools = new Option<string[]>("--tool") { Description = "A function tool the agent may call (repeatable), as for run." };
        var thread = new Option<string?>("--thread") { Description = "Continue an existing thread (it is kept when the session ends)." };
        var idle = new Option<int?>("--idle-timeout") { Description = "Seconds without a message before the session ends itself (default 3600)." };
        var command = new Command("chat", $"A conversation with one agent: each line is a turn; {ChatVerb.ExitCommand}, end of input or Ctrl+C ends it and deletes the agent; {ChatVerb.HelpCommand} says so.")
        {
            model, instructions, tools, thread, idle,
        };
        AddHostOptions(command);
        command.SetAction(async (parse, ct) =>
        {
            if (HostOptionProblem(parse) is { } hostProblem)
            {
                Terminal.Fail(hostProblem);
                return ConfigurationError;
            }

            var options = HostOptions(parse);
            options.LogLevel = parse.GetValue(Verbose) ? LogLevel.Information : LogLevel.Error;
            options.PrintsOutcomes = true;
            var session = new AgentJobs.Sessions.AgentSessionRequest(
                parse.GetValue(instructions),
                parse.GetValue(model),
                Tools: parse.GetValue(tools) is { Length: > 0 } t ? t : null,
                IdleTimeoutSeconds: parse.GetValue(idle),
                ThreadId: parse.GetValue(thread));
            return await ChatVerb.RunAsync(options, session, ct).ConfigureAwait(false);
        });
        return command;
    }

    static Command ServeCommand()
    {
        var urls = new Option<string>("--urls")
        {
            Description = "Where to listen (semicolon-separated). Loopback only unless you say otherwise.",
            DefaultValueFactory = _ => LocalHostOptions.DefaultUrls,
        };
        var command = new Command("serve", "Serve the HTTP API (jobs, sessions, batches, events), the dashboard at / and the MCP endpoint at /mcp, as the Functions app does.") { urls };
        AddHostOptions(command);
        command.SetAction(async (parse, ct) =>
        {
            if (HostOptionProblem(parse) is { } hostProblem)
            {
                Terminal.Fail(hostProblem);
                return ConfigurationError;
            }

            var options = HostOptions(parse);
            options.Urls = parse.GetValue(urls)!;
            options.LogToStandardError = false;
            options.LogLevel = parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Information;
            return await ServeVerb.RunAsync(options, ct).ConfigureAwait(false);
        });
        return command;
    }

    static readonly bool[] HintsOff = [false];
    static readonly bool[] HintsOn = [true];
    static readonly bool[] HintsBoth = [false, true];

    static Command BenchCommand()
    {
        var defaults = BenchmarkOptions.Default;
        var jobs = new Option<string>("--jobs") { Description = "Concurrent jobs per scenario, comma-separated (e.g. 1,100,500).", DefaultValueFactory = _ => string.Join(',', defaults.Jobs) };
        var runMs = new Option<string>("--run-ms") { Description = "Simulated run lengths in ms, comma-separated (e.g. 200,2000,20000).", DefaultValueFactory = _ => string.Join(',', defaults.RunMs) };
        var hints = new Option<string>("--poll-hints") { Description = "Whether the simulated service sends poll-after hints: off (as real services), on, or both.", DefaultValueFactory = _ => "off" };
        var window = new Option<int>("--stream-window") { Description = "Stream window of the stream-first workflow, in seconds.", DefaultValueFactory = _ => defaults.StreamWindowSeconds };
        var stock = new Option<bool>("--stock-backend") { Description = "Use the in-memory backend WITHOUT the concurrency fix (expect a collapse; try --jobs 50)." };
        var storage = new Option<string?>("--storage")
        {
            Description = "Scale-out instead: the jobs on this Azure Storage (e.g. Azurite) with 1 serve worker process, then with --workers, " +
                "each on a fresh task hub; prints jobs/s for both and the ratio (one --jobs and one --run-ms figure).",
        };
        var workers = new Option<int?>("--workers") { Description = "With --storage: worker processes of the second run (default 2)." };
        var liveText = new Option<bool>("--live-text")
        {
            Description = "Live text instead: token-to-watcher latency p50/p95 of the service stream (the floor), serve in memory and, with --storage, " +
                "one worker and two workers (watcher on the other one), plus delta-log writes per 1,000 tokens. --jobs: jobs per scenario (default 3).",
        };
        var words = new Option<int>("--words") { Description = "With --live-text: words (tokens) per reply.", DefaultValueFactory = _ => 300 };
        var pace = new Option<double>("--tokens-per-second") { Description = "With --live-text: the simulated model's pace.", DefaultValueFactory = _ => 50 };
        var command = new Command("bench", "Durable polling vs stream-first vs no Durable vs the quickstart's loop: throughput, overhead, detection lag, calls and history per job; or, with --storage, 1 vs N serve workers.")
        {
            jobs, runMs, hints, window, stock, storage, workers, liveText, words, pace,
        };
        command.SetAction(async (parse, ct) =>
        {
            var pollHints = parse.GetValue(hints) switch
            {
                "off" => HintsOff,
                "on" => HintsOn,
                "both" => HintsBoth,
                _ => null,
            };
            if (Numbers(parse.GetValue(jobs)) is not { } jobCounts || Numbers(parse.GetValue(runMs)) is not { } runLengths || pollHints is null)
            {
                Terminal.Fail("--jobs and --run-ms take comma-separated whole numbers; --poll-hints takes off, on or both.");
                return ConfigurationError;
            }

            if (parse.GetValue(liveText))
            {
                var perScenario = parse.GetResult(jobs) is { Implicit: false } ? jobCounts[0] : 3;
                return await LiveTextBenchmark.RunAsync(
                    new LiveTextBenchmarkOptions(parse.GetValue(storage), perScenario, parse.GetValue(words), parse.GetValue(pace)), ct).ConfigureAwait(false);
            }

            if (parse.GetValue(storage) is { } connection)
            {
                // The scale-out run has its own defaults: 100 jobs of 200 ms.
                jobCounts = parse.GetResult(jobs) is { Implicit: false } ? jobCounts : [100];
                runLengths = parse.GetResult(runMs) is { Implicit: false } ? runLengths : [200];
                if (parse.GetValue(stock) || jobCounts.Length > 1 || runLengths.Length > 1)
                {
                    Terminal.Fail("--storage takes one --jobs and one --run-ms figure, and no --stock-backend (that belongs to the in-memory bench).");
                    return ConfigurationError;
                }

                return await ScaleOutBenchmark.RunAsync(
                    new ScaleOutBenchmarkOptions(connection, parse.GetValue(workers) ?? 2, jobCounts[0], runLengths[0]), ct).ConfigureAwait(false);
            }

            if (parse.GetValue(workers) is not null)
            {
                Terminal.Fail("--workers: worker processes need a shared task hub; add --storage <connection string>.");
                return ConfigurationError;
            }

            return await Benchmark.RunAsync(new BenchmarkOptions(jobCounts, runLengths, pollHints, parse.GetValue(window), parse.GetValue(stock)), ct).ConfigureAwait(false);
        });
        return command;
    }

    static int[]? Numbers(string? list)
    {
        var parts = (list ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var numbers = parts.Select(p => int.TryParse(p, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : -1).ToArray();
        return numbers.Length > 0 && numbers.All(n => n >= 0) ? numbers : null;
    }

    static void AddHostOptions(Command command)
    {
        command.Options.Add(Storage);
        command.Options.Add(TaskHub);
        command.Options.Add(WorkerId);
        command.Options.Add(PartitionLease);
        command.Options.Add(Endpoint);
        command.Options.Add(ApiKey);
        command.Options.Add(Protocol);
        command.Options.Add(SimulatedRunMs);
        command.Options.Add(SimulatedTokensPerSecond);
        command.Options.Add(SimulatedFirstTokenMs);
        command.Options.Add(Verbose);
        command.Options.Add(McpServers);
        command.Options.Add(OtlpEndpoint);
    }

    /// <summary>
    /// The host options' own problems, named by their flags (the host would name the setting a flag stands for):
    /// one line for <see cref="Terminal.Fail"/>, or null.
    /// </summary>
    static string? HostOptionProblem(ParseResult parse) =>
        parse.GetValue(Protocol) is { } protocol && !AgentJobs.Configuration.AgentProtocols.All.Contains(protocol.Trim().ToLowerInvariant())
            ? $"--protocol: '{protocol}' is not a protocol; valid values are: {string.Join(", ", AgentJobs.Configuration.AgentProtocols.All)}."
            : null;

    static LocalHostOptions HostOptions(ParseResult parse)
    {
        var options = new LocalHostOptions
        {
            Verbose = parse.GetValue(Verbose),
            Storage = parse.GetValue(Storage),
            TaskHub = parse.GetValue(TaskHub),
            WorkerId = parse.GetValue(WorkerId),
            PartitionLeaseSeconds = parse.GetValue(PartitionLease),
            Endpoint = parse.GetValue(Endpoint),
            ApiKey = parse.GetValue(ApiKey),
            Protocol = parse.GetValue(Protocol),
            SimulatedRunMs = parse.GetValue(SimulatedRunMs),
            SimulatedTokensPerSecond = parse.GetValue(SimulatedTokensPerSecond),
            SimulatedFirstTokenMs = parse.GetValue(SimulatedFirstTokenMs),
            OtlpEndpoint = parse.GetValue(OtlpEndpoint),
        };

        // name=url → AgentJobs:McpServers:<name>:Url; the host validates both when it starts.
        foreach (var server in parse.GetValue(McpServers) ?? [])
        {
            var at = server.IndexOf('=', StringComparison.Ordinal);
            options.Settings[$"AgentJobs:McpServers:{(at > 0 ? server[..at] : server)}:Url"] = at > 0 ? server[(at + 1)..] : "";
        }

        return options;
    }
}
