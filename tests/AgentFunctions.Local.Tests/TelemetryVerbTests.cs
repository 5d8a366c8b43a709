using System.Diagnostics;
using System.Net.Http.Json;
using AgentFunctions.Local.Tests.Support;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// The local host's telemetry: <c>run --trace</c> prints the job's span tree (as a process), <c>--otlp-endpoint</c>
/// (and <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>) export to an OTLP/HTTP collector on 127.0.0.1, and under <c>serve</c>
/// a job's trace starts at the API request.
/// </summary>
public class TelemetryVerbTests
{
    static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("classic", "POST /v1/threads")]
    [InlineData("foundry", "POST /api/projects/local/openai/v1/conversations")]
    public async Task Run_trace_prints_the_jobs_span_tree_after_the_result(string protocol, string threadCall)
    {
        var output = await LocalCli.RunAsync(Timeout, null, "run", "What is 17 * 23?", "--tool", "calculate", "--protocol", protocol, "--trace");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        var lines = output.StdOut.Split('\n').Select(l => l.TrimEnd()).ToList();
        var at = lines.IndexOf("Trace");
        Assert.True(at > lines.FindIndex(l => l.StartsWith("Completed", StringComparison.Ordinal)), output.StdOut); // after the result
        var tree = lines.Skip(at + 1).ToList();
        Assert.Matches(@"^  Trace [0-9a-f]{32} · \d+ spans$", tree[0]);
        Assert.StartsWith("  create_orchestration:AgentJob ", tree[1]);
        var job = Assert.Single(tree, l => l.Contains("orchestration:AgentJob ", StringComparison.Ordinal) && !l.Contains("create_", StringComparison.Ordinal));
        Assert.StartsWith("  └─ orchestration:AgentJob ", job);
        Assert.Contains("operation.name=invoke_agent", job);
        Assert.Contains("request.model=gpt-4o-mini", job);
        Assert.Contains("job.outcome=Completed", job);
        Assert.Matches(@"usage\.input_tokens=\d+ usage\.output_tokens=\d+", job);

        // Each activity once, the GenAI spans inside them, the HTTP calls inside those.
        foreach (var activity in new[] { "CreateAgent", "CreateThread", "StartRun", "ExecuteTool", "SubmitToolOutputs", "ListMessages", "ListRunSteps", "DeleteAgent" })
        {
            Assert.Single(tree, l => l.Contains($"─ activity:{activity} ", StringComparison.Ordinal));
        }

        Assert.Contains(tree, l => l.Contains("─ create_agent my-agent ", StringComparison.Ordinal) && l.Contains("operation.name=create_agent", StringComparison.Ordinal));
        Assert.Contains(tree, l => l.Contains("─ execute_tool calculate ", StringComparison.Ordinal) && l.Contains("tool.name=calculate tool.call.id=call_", StringComparison.Ordinal));
        Assert.Contains(tree, l => l.Contains("─ " + threadCall + " ", StringComparison.Ordinal) && l.Contains("status=200", StringComparison.Ordinal));
        // Stream-first (the local host's default): the run is seen through the streamed calls, so no poller and no poll.
        Assert.DoesNotContain(tree, l => l.Contains("orchestration:PollAgentRun ", StringComparison.Ordinal) || l.Contains("activity:GetRun ", StringComparison.Ordinal));
        Assert.DoesNotContain("17 * 23", string.Join('\n', tree)); // no content by default
    }

    [Fact]
    public async Task Run_otlp_endpoint_exports_the_jobs_traces_and_metrics()
    {
        await using var collector = await OtlpReceiver.StartAsync();

        var output = await LocalCli.RunAsync(Timeout, null, "run", "What is 17 * 23?", "--tool", "calculate", "--otlp-endpoint", collector.Endpoint.ToString());

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}; stdout: {output.StdOut}");
        var traces = await collector.WaitForAsync("/v1/traces", "orchestration:AgentJob", TimeSpan.FromSeconds(10));
        Assert.NotNull(traces);
        Assert.Equal("application/x-protobuf", traces.ContentType);
        Assert.Contains(collector.Exports, e => e.Path == "/v1/traces" && e.Contains("execute_tool calculate"));
        Assert.Contains(collector.Exports, e => e.Path == "/v1/traces" && e.Contains("AgentFunctions.Local")); // service.name
        Assert.NotNull(await collector.WaitForAsync("/v1/metrics", "agentjobs.jobs.finished", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Run_reads_the_standard_otlp_endpoint_setting_too()
    {
        await using var collector = await OtlpReceiver.StartAsync();

        var output = await LocalCli.RunAsync(Timeout, new Dictionary<string, string> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Endpoint.ToString() },
            "run", "Hello, tell me a joke");

        Assert.True(output.ExitCode == 0, $"exit {output.ExitCode}; stderr: {output.StdErr}");
        Assert.NotNull(await collector.WaitForAsync("/v1/traces", "orchestration:AgentJob", TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task A_bad_otlp_endpoint_exits_2_with_a_one_line_reason()
    {
        var output = await LocalCli.RunAsync(Timeout, null, "run", "Hello", "--otlp-endpoint", "localhost:4318");

        Assert.Equal(Cli.ConfigurationError, output.ExitCode);
        Assert.Equal("error: --otlp-endpoint (or OTEL_EXPORTER_OTLP_ENDPOINT) must be an absolute http(s) URL such as http://localhost:4318, not 'localhost:4318'.", output.StdErr.Trim());
    }

    [Fact]
    public async Task Trace_with_a_batch_exits_2_with_a_one_line_reason()
    {
        var prompts = Path.Combine(Path.GetTempPath(), $"prompts-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(prompts, "Hello\n");
        try
        {
            var output = await LocalCli.RunAsync(Timeout, null, "run", "--batch", prompts, "--trace");

            Assert.Equal(Cli.ConfigurationError, output.ExitCode);
            Assert.StartsWith("error: --trace: prints one job's trace", output.StdErr.Trim(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(prompts);
        }
    }

    [Fact]
    public async Task Under_serve_a_jobs_trace_starts_at_the_api_request_and_is_exported()
    {
        await using var collector = await OtlpReceiver.StartAsync();
        var spans = new SpanCollector();
        await using var host = await LocalHost.StartServeAsync(new LocalHostOptions
        {
            Urls = "http://127.0.0.1:0", SimulatedRunMs = 50, OtlpEndpoint = collector.Endpoint.ToString(), Spans = spans,
        });
        using var http = new HttpClient { BaseAddress = host.Urls[0] };

        using var accepted = await http.PostAsJsonAsync("/api/agent-jobs", new { prompt = "What is 17 * 23?", tools = new[] { "calculate" } });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, accepted.StatusCode);
        var id = (await accepted.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("id").GetString()!;
        var job = await WaitForSpanAsync(spans, s => s.DisplayName == "orchestration:AgentJob" && Equals(s.GetTagItem("durabletask.task.instance_id"), id));

        // The job span ← create_orchestration ← the API's server span for POST /api/agent-jobs, all one trace.
        var all = spans.Spans;
        var create = Assert.Single(all, s => s.SpanId == job.ParentSpanId);
        Assert.Equal("create_orchestration:AgentJob", create.DisplayName);
        var request = Assert.Single(all, s => s.SpanId == create.ParentSpanId);
        Assert.Equal(ActivityKind.Server, request.Kind);
        Assert.Equal("POST", request.GetTagItem("http.request.method"));
        Assert.Equal("/api/agent-jobs", request.GetTagItem("url.path"));
        Assert.Equal(202, request.GetTagItem("http.response.status_code"));
        Assert.All(all.Where(s => s.TraceId == job.TraceId && s.Kind == ActivityKind.Server && s.Source.Name == "Microsoft.AspNetCore"), s =>
            Assert.StartsWith("/api/agent-jobs", s.GetTagItem("url.path") as string, StringComparison.Ordinal)); // the embedded service's requests are not server spans here

        await host.DisposeAsync(); // flushes the exporter
        Assert.NotNull(await collector.WaitForAsync("/v1/traces", "/api/agent-jobs", TimeSpan.FromSeconds(10)));
    }

    static async Task<Activity> WaitForSpanAsync(SpanCollector spans, Func<Activity, bool> match)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < until)
        {
            if (spans.Spans.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            await Task.Delay(50);
        }

        throw new TimeoutException("The job's span never ended.");
    }
}
