using System.Diagnostics;
using AgentJobs.Contracts;
using AgentJobs.Telemetry;
using AgentJobs.Tests.Support;
using AgentJobs.Workflow;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using static AgentJobs.Tests.Support.LocalServiceJobs;

namespace AgentJobs.Tests;

/// <summary>
/// Traces and metrics of a tool-calling job on the real Durable Task engine against the local agent service over
/// HTTP, on both protocols: one connected trace per job (start → orchestration → activities → HTTP calls) with the
/// GenAI attributes, exactly one span per activity execution and one job span however often the orchestrator
/// replays, no content unless the setting says so, and the metrics' values. Not parallel: the SDK's activity
/// source and the meter are process-wide, so another test's job would show up in the counters.
/// </summary>
[CollectionDefinition(nameof(TelemetryTests), DisableParallelization = true)]
[Collection(nameof(TelemetryTests))]
public class TelemetryTests
{
    const string Prompt = "What is 17 * 23?";
    static readonly ActivitySource TestSource = new("AgentJobs.Tests.Telemetry");

    /// <summary>Runs the calculate job inside a test root span and returns the result and the job's spans (its trace).</summary>
    static async Task<(AgentJobResult Result, IReadOnlyList<Activity> Spans)> RunTracedAsync(
        string protocol, bool captureContent, PollingSettings? polling = null, int inProgressMs = 60)
    {
        var exported = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource(TestSource.Name)
            .AddAgentJobsInstrumentation()
            .AddInMemoryExporter(exported)
            .Build();
        await using var server = await StartServerAsync(inProgressMs);
        using var host = await StartWorkflowAsync(server, protocol, configure: services =>
            services.AddSingleton(new AgentJobsTelemetryOptions { CaptureMessageContent = captureContent }));

        ActivityTraceId traceId;
        string id;
        using (var root = TestSource.StartActivity("test: start job")!)
        {
            traceId = root.TraceId;
            id = await ScheduleAsync(host, new AgentJobRequest(Prompt, Tools: ["calculate"], Polling: polling ?? FastPolling));
        }

        var result = await CompletionAsync(host.Services.GetRequiredService<Microsoft.DurableTask.Client.DurableTaskClient>(), id);

        // The last activity's span and the orchestration's end just after the job reports its result; wait (bounded) for both.
        var until = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < until && !(Snapshot(exported, traceId) is var ended
            && ended.Any(s => s.DisplayName == $"activity:{nameof(AgentJobActivities.DeleteAgent)}" && s.Kind == ActivityKind.Server)
            && ended.Any(s => s.DisplayName == $"orchestration:{AgentJobOrchestrator.Name}")))
        {
            await Task.Delay(50);
        }

        await Task.Delay(200);
        tracing.ForceFlush();
        return (result, Snapshot(exported, traceId));
    }

    static List<Activity> Snapshot(List<Activity> exported, ActivityTraceId traceId)
    {
        lock (exported)
        {
            return [.. exported.Where(s => s.TraceId == traceId)];
        }
    }

    static Activity ParentOf(IReadOnlyList<Activity> spans, Activity span) => Assert.Single(spans, s => s.SpanId == span.ParentSpanId);

    static IEnumerable<Activity> Server(IReadOnlyList<Activity> spans, string activity) =>
        spans.Where(s => s.DisplayName == $"activity:{activity}" && s.Kind == ActivityKind.Server);

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_tool_calling_job_is_one_trace_from_start_through_orchestration_activities_and_http_calls(string protocol)
    {
        var (result, spans) = await RunTracedAsync(protocol, captureContent: false);

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(1, result.ToolCalls);
        Assert.Contains("391", result.Reply, StringComparison.Ordinal);

        // One root (the caller's span) and every other span's parent in the same trace: one connected tree.
        var root = Assert.Single(spans, s => s.ParentSpanId == default);
        Assert.Equal("test: start job", root.DisplayName);
        Assert.All(spans.Where(s => s != root), s => ParentOf(spans, s));

        // start → create_orchestration → the job span (the SDK's orchestration span, with the invoke_agent attributes).
        var create = Assert.Single(spans, s => s.DisplayName == $"create_orchestration:{AgentJobOrchestrator.Name}");
        Assert.Equal(root.SpanId, create.ParentSpanId);
        var job = Assert.Single(spans, s => s.DisplayName == $"orchestration:{AgentJobOrchestrator.Name}");
        Assert.Equal(create.SpanId, job.ParentSpanId);
        Assert.Equal(GenAIAttributes.InvokeAgent, job.GetTagItem(GenAIAttributes.OperationName));
        Assert.Equal(GenAIAttributes.AzureAIOpenAI, job.GetTagItem(GenAIAttributes.ProviderName));
        Assert.Equal(AgentJobDefaults.Model, job.GetTagItem(GenAIAttributes.RequestModel));
        Assert.Equal(result.AgentId, job.GetTagItem(GenAIAttributes.AgentId));
        Assert.Equal(result.ThreadId, job.GetTagItem(GenAIAttributes.ConversationId));
        Assert.Equal(nameof(JobOutcome.Completed), job.GetTagItem(GenAIAttributes.JobOutcome));
        Assert.Equal(result.Usage!.PromptTokens, job.GetTagItem(GenAIAttributes.UsageInputTokens));
        Assert.Equal(result.Usage.CompletionTokens, job.GetTagItem(GenAIAttributes.UsageOutputTokens));
        Assert.Equal(1, job.GetTagItem(GenAIAttributes.JobToolCalls));

        // Exactly one span per activity execution, each under the SDK's client span of its scheduling, which sits
        // under the job span (or a poller's span for GetRun), however many times the orchestrators replayed.
        var pollers = spans.Where(s => s.DisplayName == $"orchestration:{RunPoller.Name}" && s.Kind == ActivityKind.Server).ToList();
        Assert.NotEmpty(pollers);
        Assert.All(pollers, p => Assert.Equal(job.SpanId, ParentOf(spans, ParentOf(spans, p)).SpanId));
        string[] once =
        [
            nameof(AgentJobActivities.CreateAgent), nameof(AgentJobActivities.CreateThread), nameof(AgentJobActivities.StartRun),
            nameof(AgentJobActivities.ExecuteTool), nameof(AgentJobActivities.SubmitToolOutputs), nameof(AgentJobActivities.ListMessages),
            nameof(AgentJobActivities.ListRunSteps), nameof(AgentJobActivities.DeleteAgent),
        ];
        foreach (var name in once)
        {
            var execution = Assert.Single(Server(spans, name));
            var scheduled = ParentOf(spans, execution);
            Assert.Equal(($"activity:{name}", ActivityKind.Client), (scheduled.DisplayName, scheduled.Kind));
            Assert.Equal(job.SpanId, scheduled.ParentSpanId);
        }

        var polls = Server(spans, nameof(AgentJobActivities.GetRun)).ToList();
        Assert.Equal(result.Polls, polls.Count);
        Assert.All(polls, p => Assert.Contains(ParentOf(spans, ParentOf(spans, p)), pollers));
        Assert.Equal(
            spans.Count(s => s.DisplayName.StartsWith("activity:", StringComparison.Ordinal) && s.Kind == ActivityKind.Client),
            spans.Count(s => s.DisplayName.StartsWith("activity:", StringComparison.Ordinal) && s.Kind == ActivityKind.Server));

        // GenAI spans inside their activities.
        var createAgent = Assert.Single(spans, s => s.DisplayName == $"create_agent {AgentJobDefaults.AgentName}");
        Assert.Equal(Assert.Single(Server(spans, nameof(AgentJobActivities.CreateAgent))).SpanId, createAgent.ParentSpanId);
        Assert.Equal(ActivityKind.Client, createAgent.Kind);
        Assert.Equal(GenAIAttributes.CreateAgent, createAgent.GetTagItem(GenAIAttributes.OperationName));
        Assert.Equal(AgentJobDefaults.Model, createAgent.GetTagItem(GenAIAttributes.RequestModel));
        Assert.Equal(result.AgentId, createAgent.GetTagItem(GenAIAttributes.AgentId));
        var tool = Assert.Single(spans, s => s.DisplayName == "execute_tool calculate");
        Assert.Equal(Assert.Single(Server(spans, nameof(AgentJobActivities.ExecuteTool))).SpanId, tool.ParentSpanId);
        Assert.Equal(GenAIAttributes.ExecuteTool, tool.GetTagItem(GenAIAttributes.OperationName));
        Assert.Equal("calculate", tool.GetTagItem(GenAIAttributes.ToolName));
        Assert.Equal(Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls)).Id, tool.GetTagItem(GenAIAttributes.ToolCallId));

        // Every agent-service HTTP call is a client span under an activity execution (or the create_agent span in one).
        var http = spans.Where(s => s.Source.Name == "System.Net.Http").ToList();
        Assert.True(http.Count >= once.Length - 1 + polls.Count, $"only {http.Count} HTTP spans");
        Assert.All(http, h =>
        {
            var parent = ParentOf(spans, h);
            Assert.True(parent.Kind == ActivityKind.Server && parent.DisplayName.StartsWith("activity:", StringComparison.Ordinal) || parent == createAgent, parent.DisplayName);
            Assert.Equal(ActivityKind.Client, h.Kind);
        });

        // No prompt, reply or key anywhere by default.
        var values = spans.SelectMany(s => s.TagObjects).Select(t => t.Value?.ToString() ?? "").ToList();
        Assert.DoesNotContain(values, v => v.Contains("17 * 23", StringComparison.Ordinal) || v.Contains("= 391", StringComparison.Ordinal));
        Assert.DoesNotContain(values, v => v.Contains(Key, StringComparison.Ordinal));
        Assert.DoesNotContain(spans.SelectMany(s => s.TagObjects), t => t.Key.StartsWith("gen_ai.input", StringComparison.Ordinal) || t.Key.StartsWith("gen_ai.output", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_poller_that_continues_as_new_stays_in_the_jobs_trace()
    {
        // 1 ms between polls: a generation's poll is usually due by the time the generation starts.
        var (result, spans) = await RunTracedAsync(
            AgentJobs.Configuration.AgentProtocols.Classic, captureContent: false,
            FastPolling with { InitialDelayMs = 1, MaxDelayMs = 1, PollsPerGeneration = 1 }, inProgressMs: 1_500);

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.True(result.Polls >= 4, $"only {result.Polls} polls");
        Assert.Single(spans, s => s.ParentSpanId == default);
        Assert.All(spans.Where(s => s.ParentSpanId != default), s => ParentOf(spans, s));
        Assert.Single(spans, s => s.DisplayName == $"orchestration:{AgentJobOrchestrator.Name}");
        // Every generation's polls are in the trace (without the carry-over only the first generation's one poll
        // would be), also a poll already due when its generation starts.
        Assert.Equal(result.Polls, Server(spans, nameof(AgentJobActivities.GetRun)).Count());
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Prompt_reply_and_tool_content_are_recorded_when_the_setting_is_on(string protocol)
    {
        var (result, spans) = await RunTracedAsync(protocol, captureContent: true);

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        var input = Assert.Single(Server(spans, nameof(AgentJobActivities.StartRun))).GetTagItem(GenAIAttributes.InputMessages) as string;
        Assert.Contains(Prompt, input, StringComparison.Ordinal);
        Assert.Contains("\"role\":\"user\"", input, StringComparison.Ordinal);
        var output = Assert.Single(Server(spans, nameof(AgentJobActivities.ListMessages))).GetTagItem(GenAIAttributes.OutputMessages) as string;
        Assert.Contains("391", output, StringComparison.Ordinal);
        var tool = Assert.Single(spans, s => s.DisplayName == "execute_tool calculate");
        Assert.Contains("17 * 23", tool.GetTagItem(GenAIAttributes.ToolCallArguments) as string, StringComparison.Ordinal);
        Assert.Contains("391", tool.GetTagItem(GenAIAttributes.ToolCallResult) as string, StringComparison.Ordinal);
        Assert.Contains(AgentJobDefaults.Instructions, Assert.Single(spans, s => s.DisplayName.StartsWith("create_agent", StringComparison.Ordinal))
            .GetTagItem(GenAIAttributes.SystemInstructions) as string, StringComparison.Ordinal);
        Assert.DoesNotContain(spans.SelectMany(s => s.TagObjects), t => t.Value?.ToString()?.Contains(Key, StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task Metrics_count_each_job_tool_call_token_and_service_call_once()
    {
        var metrics = new List<MetricSnapshot>();
        using var meters = Sdk.CreateMeterProviderBuilder().AddAgentJobsInstrumentation().AddInMemoryExporter(metrics).Build();
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, AgentJobs.Configuration.AgentProtocols.Classic);

        var result = await RunAsync(host, new AgentJobRequest(Prompt, Tools: ["calculate"], Polling: FastPolling));
        Assert.Equal(JobOutcome.Completed, result.Outcome);
        await Task.Delay(200); // the last activity's measurement lands just after it reports
        meters.ForceFlush();

        long Sum(string name, string? tag = null, object? value = null) => metrics.Where(m => m.Name == name)
            .SelectMany(m => m.MetricPoints.Select(p => (m.MetricType, Point: p)))
            .Where(x => tag is null || Tags(x.Point).TryGetValue(tag, out var v) && Equals(v, value))
            .Sum(x => x.MetricType is MetricType.LongSum ? x.Point.GetSumLong() : x.Point.GetHistogramCount());

        Assert.Equal(1, Sum(AgentJobsTelemetry.JobsStartedMetric));
        Assert.Equal(1, Sum(AgentJobsTelemetry.JobsFinishedMetric, GenAIAttributes.JobOutcome, nameof(JobOutcome.Completed)));
        Assert.Equal(1, Sum(AgentJobsTelemetry.JobDurationMetric));
        Assert.Equal(1, Sum(AgentJobsTelemetry.ToolCallsMetric, GenAIAttributes.ToolName, "calculate"));
        Assert.Equal(result.Polls, Sum(AgentJobsTelemetry.ServiceCallDurationMetric, GenAIAttributes.Operation, nameof(AgentJobActivities.GetRun)));
        Assert.Equal(1, Sum(AgentJobsTelemetry.ServiceCallDurationMetric, GenAIAttributes.Operation, nameof(AgentJobActivities.DeleteAgent)));
        Assert.Equal(0, Sum(AgentJobsTelemetry.ServiceRetriesMetric));

        var tokens = metrics.Where(m => m.Name == AgentJobsTelemetry.TokenUsageMetric).SelectMany(m => m.MetricPoints).ToList();
        Assert.Equal(result.Usage!.PromptTokens, tokens.Where(p => Equals(Tags(p)[GenAIAttributes.TokenType], "input")).Sum(p => p.GetHistogramSum()));
        Assert.Equal(result.Usage.CompletionTokens, tokens.Where(p => Equals(Tags(p)[GenAIAttributes.TokenType], "output")).Sum(p => p.GetHistogramSum()));
    }

    [Fact]
    public async Task A_transient_service_failure_is_an_error_span_one_retry_and_a_failed_call_measurement()
    {
        var exported = new List<Activity>();
        var metrics = new List<MetricSnapshot>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddAgentJobsInstrumentation().AddInMemoryExporter(exported).Build();
        using var meters = Sdk.CreateMeterProviderBuilder().AddAgentJobsInstrumentation().AddInMemoryExporter(metrics).Build();
        await using var server = await StartServerAsync();
        server.AddFault(new LocalAgentService.FaultRule { Operation = "get-run", Mode = "500", Count = 1 });
        using var host = await StartWorkflowAsync(server, AgentJobs.Configuration.AgentProtocols.Classic);

        var result = await RunAsync(host, new AgentJobRequest(Prompt, Tools: ["calculate"], Polling: FastPolling));
        Assert.Equal(JobOutcome.Completed, result.Outcome);
        await Task.Delay(200);
        tracing.ForceFlush();
        meters.ForceFlush();

        List<Activity> spans;
        lock (exported)
        {
            var job = Assert.Single(exported, s => s.DisplayName == $"orchestration:{AgentJobOrchestrator.Name}" && Equals(s.GetTagItem(GenAIAttributes.AgentId), result.AgentId));
            spans = [.. exported.Where(s => s.TraceId == job.TraceId)];
        }

        // The failed attempt is an activity execution of its own, marked failed; the retry is another.
        var polls = Server(spans, nameof(AgentJobActivities.GetRun)).ToList();
        var failed = Assert.Single(polls, s => s.Status == ActivityStatusCode.Error);
        Assert.Equal("500", failed.GetTagItem(GenAIAttributes.ErrorType));
        Assert.Equal(result.Polls + 1, polls.Count);

        var retries = metrics.Where(m => m.Name == AgentJobsTelemetry.ServiceRetriesMetric).SelectMany(m => m.MetricPoints).Sum(p => p.GetSumLong());
        Assert.Equal(1, retries);
        var failedCalls = metrics.Where(m => m.Name == AgentJobsTelemetry.ServiceCallDurationMetric).SelectMany(m => m.MetricPoints)
            .Where(p => Equals(Tags(p).GetValueOrDefault(GenAIAttributes.ErrorType), "500")).Sum(p => p.GetHistogramCount());
        Assert.Equal(1, failedCalls);
    }

    static Dictionary<string, object?> Tags(MetricPoint point)
    {
        var tags = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in point.Tags)
        {
            tags[tag.Key] = tag.Value;
        }

        return tags;
    }
}
