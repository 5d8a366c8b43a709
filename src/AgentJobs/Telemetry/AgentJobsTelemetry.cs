using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using AgentJobs.AgentService;
using AgentJobs.Contracts;
using Microsoft.DurableTask;

namespace AgentJobs.Telemetry;

/// <summary>
/// The agent jobs' spans and metrics: one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named
/// <see cref="SourceName"/>, and the few helpers that emit them. The Durable Task SDK's own spans (source
/// <see cref="DurableTaskSourceName"/>: <c>create_orchestration:AgentJob</c>, <c>orchestration:AgentJob</c>,
/// <c>activity:*</c>, timers) carry the job's trace from the start through every activity; these add the GenAI
/// semantic conventions to it.
/// </summary>
/// <remarks>
/// Replay safety: an orchestrator runs again from the top on every new event. Spans are therefore emitted only by
/// activities (one per execution) and by the SDK, which ends an orchestration's span once, when it completes;
/// the orchestrator records its metrics and tags that span only when not replaying.
/// </remarks>
public static class AgentJobsTelemetry
{
    /// <summary>Name of the agent jobs' activity source and meter.</summary>
    public const string SourceName = "AgentJobs";

    /// <summary>The Durable Task SDK's activity source (client, worker): the job's orchestration and activity spans.</summary>
    public const string DurableTaskSourceName = "Microsoft.DurableTask";

    /// <summary>The Azure Functions isolated worker's activity source (its function invocation spans).</summary>
    public const string FunctionsWorkerSourceName = "Microsoft.Azure.Functions.Worker";

    /// <summary>Counter <c>agentjobs.jobs.started</c> ({job}), by <c>gen_ai.request.model</c>.</summary>
    public const string JobsStartedMetric = "agentjobs.jobs.started";

    /// <summary>Counter <c>agentjobs.jobs.finished</c> ({job}), by <c>agentjobs.job.outcome</c> and <c>gen_ai.request.model</c>.</summary>
    public const string JobsFinishedMetric = "agentjobs.jobs.finished";

    /// <summary>Histogram <c>agentjobs.job.duration</c> (s, orchestration time from start to result), by outcome.</summary>
    public const string JobDurationMetric = "agentjobs.job.duration";

    /// <summary>Histogram <c>gen_ai.client.token.usage</c> ({token}, one record per job and token type), as the GenAI metric conventions name it.</summary>
    public const string TokenUsageMetric = "gen_ai.client.token.usage";

    /// <summary>Counter <c>agentjobs.tool.calls</c> ({call}, one per tool execution), by <c>gen_ai.tool.name</c> and <c>error.type</c> when it failed.</summary>
    public const string ToolCallsMetric = "agentjobs.tool.calls";

    /// <summary>Histogram <c>agentjobs.agent_service.call.duration</c> (s, one agent-service operation = one activity attempt), by <c>agentjobs.operation</c> and <c>error.type</c>.</summary>
    public const string ServiceCallDurationMetric = "agentjobs.agent_service.call.duration";

    /// <summary>Counter <c>agentjobs.agent_service.retries</c> ({retry}): durable retries of transient agent-service failures.</summary>
    public const string ServiceRetriesMetric = "agentjobs.agent_service.retries";

    static readonly ActivitySource Source = new(SourceName);
    static readonly Meter Meter = new(SourceName);
    static readonly Counter<long> JobsStarted = Meter.CreateCounter<long>(JobsStartedMetric, "{job}", "Agent jobs started.");
    static readonly Counter<long> JobsFinished = Meter.CreateCounter<long>(JobsFinishedMetric, "{job}", "Agent jobs finished, by outcome.");
    static readonly Histogram<double> JobDuration = Meter.CreateHistogram<double>(JobDurationMetric, "s", "Agent job duration, start to result.");
    static readonly Histogram<long> TokenUsage = Meter.CreateHistogram<long>(TokenUsageMetric, "{token}", "Tokens used by agent jobs' runs.");
    static readonly Counter<long> ToolCalls = Meter.CreateCounter<long>(ToolCallsMetric, "{call}", "Function-tool executions.");
    static readonly Histogram<double> ServiceCallDuration = Meter.CreateHistogram<double>(
        ServiceCallDurationMetric, "s", "Agent-service operations (one activity attempt each).");

    static readonly Counter<long> ServiceRetries = Meter.CreateCounter<long>(ServiceRetriesMetric, "{retry}", "Durable retries of transient agent-service failures.");

    /// <summary>Starts the <c>create_agent {name}</c> client span (under the CreateAgent activity's span).</summary>
    public static Activity? StartCreateAgent(string agentName, string model, string instructions, bool captureContent)
    {
        var span = Source.StartActivity($"{GenAIAttributes.CreateAgent} {agentName}", ActivityKind.Client);
        if (span is null)
        {
            return null;
        }

        span.SetTag(GenAIAttributes.OperationName, GenAIAttributes.CreateAgent);
        span.SetTag(GenAIAttributes.ProviderName, GenAIAttributes.AzureAIOpenAI);
        span.SetTag(GenAIAttributes.RequestModel, model);
        span.SetTag(GenAIAttributes.AgentName, agentName);
        if (captureContent)
        {
            span.SetTag(GenAIAttributes.SystemInstructions, JsonSerializer.Serialize(new[] { new { type = "text", content = instructions } }));
        }

        return span;
    }

    /// <summary>Starts the <c>execute_tool {tool}</c> span of one tool call (under the ExecuteTool activity's span).</summary>
    public static Activity? StartExecuteTool(ToolCallRequest call, bool captureContent)
    {
        ArgumentNullException.ThrowIfNull(call);
        var span = Source.StartActivity($"{GenAIAttributes.ExecuteTool} {call.Name}", ActivityKind.Internal);
        if (span is null)
        {
            return null;
        }

        span.SetTag(GenAIAttributes.OperationName, GenAIAttributes.ExecuteTool);
        span.SetTag(GenAIAttributes.ToolName, call.Name);
        span.SetTag(GenAIAttributes.ToolCallId, call.Id);
        span.SetTag(GenAIAttributes.ToolType, "function");
        span.SetTag(GenAIAttributes.JobId, call.JobId);
        if (captureContent)
        {
            span.SetTag(GenAIAttributes.ToolCallArguments, call.Arguments);
        }

        return span;
    }

    /// <summary>Ends a tool call: its output (content opt-in), its error status, and the tool-call counter.</summary>
    public static void ToolCallEnded(Activity? span, ToolCallRequest call, ToolOutput output, bool captureContent)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(output);
        if (span is not null)
        {
            if (captureContent)
            {
                span.SetTag(GenAIAttributes.ToolCallResult, output.Output);
            }

            if (output.IsError)
            {
                span.SetTag(GenAIAttributes.ErrorType, "tool_error");
                span.SetStatus(ActivityStatusCode.Error, "The tool returned an error output.");
            }
        }

        ToolCalls.Add(1, new(GenAIAttributes.ToolName, call.Name), new(GenAIAttributes.ErrorType, output.IsError ? "tool_error" : null));
    }

    /// <summary>
    /// Runs one agent-service operation, timing it into <see cref="ServiceCallDurationMetric"/>; a failure is
    /// recorded with <c>error.type</c> (the HTTP status, or the exception type) on the metric and the current span.
    /// </summary>
    public static async Task<T> MeasureServiceCallAsync<T>(string operation, Func<Task<T>> call)
    {
        ArgumentNullException.ThrowIfNull(call);
        var started = Stopwatch.GetTimestamp();
        string? error = null;
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            error = ex is AgentServiceException { StatusCode: { } status } ? status.ToString(System.Globalization.CultureInfo.InvariantCulture) : ex.GetType().Name;
            Failed(Activity.Current, error);
            throw;
        }
        finally
        {
            ServiceCallDuration.Record(
                Stopwatch.GetElapsedTime(started).TotalSeconds,
                new(GenAIAttributes.Operation, operation),
                new(GenAIAttributes.ProviderName, GenAIAttributes.AzureAIOpenAI),
                new(GenAIAttributes.ErrorType, error));
        }
    }

    /// <summary>Tags the current (activity) span with the user's message, when content capture is on.</summary>
    public static void RecordInput(string userMessage, bool captureContent)
    {
        if (captureContent && Activity.Current is { } span)
        {
            span.SetTag(GenAIAttributes.InputMessages, Messages("user", userMessage));
        }
    }

    /// <summary>Tags the current (activity) span with the assistant messages read, when content capture is on.</summary>
    public static void RecordOutput(IReadOnlyList<JobMessage> messages, bool captureContent)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (captureContent && Activity.Current is { } span && messages.Where(m => m.Role == "assistant").Select(m => m.Text).ToList() is { Count: > 0 } replies)
        {
            span.SetTag(GenAIAttributes.OutputMessages, JsonSerializer.Serialize(replies.Select(text => new
            {
                role = "assistant",
                parts = new[] { new { type = "text", content = text } },
            })));
        }
    }

    /// <summary>Counts a job as started (first execution only, never on replay).</summary>
    public static void JobStarted(TaskOrchestrationContext context, AgentJobSpec request)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);
        if (!context.IsReplaying)
        {
            JobsStarted.Add(1, new KeyValuePair<string, object?>(GenAIAttributes.RequestModel, request.Model));
        }
    }

    /// <summary>
    /// Records a finished job (never on replay): the finished counter, the duration, the token usage, and the
    /// invoke_agent attributes on the job's span: on the Durable worker the SDK's <c>orchestration:AgentJob</c> span,
    /// which the SDK ends once, when the orchestration completes; in the Functions app the invocation span of the
    /// orchestrator's last episode (the host traces the orchestration itself).
    /// </summary>
    public static void JobFinished(TaskOrchestrationContext context, AgentJobSpec request, AgentJobResult result)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(result);
        if (context.IsReplaying)
        {
            return;
        }

        var outcome = result.Outcome.ToString();
        KeyValuePair<string, object?> model = new(GenAIAttributes.RequestModel, request.Model);
        KeyValuePair<string, object?> provider = new(GenAIAttributes.ProviderName, GenAIAttributes.AzureAIOpenAI);
        KeyValuePair<string, object?> outcomeTag = new(GenAIAttributes.JobOutcome, outcome);
        JobsFinished.Add(1, outcomeTag, model);
        JobDuration.Record(result.ElapsedSeconds, outcomeTag, model);
        if (result.Usage is { } usage)
        {
            KeyValuePair<string, object?> operation = new(GenAIAttributes.OperationName, GenAIAttributes.InvokeAgent);
            TokenUsage.Record(usage.PromptTokens, operation, provider, model, new(GenAIAttributes.TokenType, "input"));
            TokenUsage.Record(usage.CompletionTokens, operation, provider, model, new(GenAIAttributes.TokenType, "output"));
        }

        if (Activity.Current is not { Source.Name: DurableTaskSourceName or FunctionsWorkerSourceName } span)
        {
            return;
        }

        span.SetTag(GenAIAttributes.OperationName, GenAIAttributes.InvokeAgent);
        span.SetTag(GenAIAttributes.ProviderName, GenAIAttributes.AzureAIOpenAI);
        span.SetTag(GenAIAttributes.RequestModel, request.Model);
        span.SetTag(GenAIAttributes.AgentName, request.AgentName);
        span.SetTag(GenAIAttributes.AgentId, result.AgentId);
        span.SetTag(GenAIAttributes.ConversationId, result.ThreadId);
        span.SetTag(GenAIAttributes.JobId, context.InstanceId);
        span.SetTag(GenAIAttributes.JobOutcome, outcome);
        span.SetTag(GenAIAttributes.JobToolCalls, result.ToolCalls);
        span.SetTag(GenAIAttributes.JobPolls, result.Polls);
        if (result.Usage is { } used)
        {
            span.SetTag(GenAIAttributes.UsageInputTokens, used.PromptTokens);
            span.SetTag(GenAIAttributes.UsageOutputTokens, used.CompletionTokens);
        }

        if (result.Outcome != JobOutcome.Completed)
        {
            span.SetTag(GenAIAttributes.ErrorType, result.Failure?.Code ?? outcome);
        }
    }

    /// <summary>Counts a durable retry of a transient agent-service failure (never on replay).</summary>
    public static void RetryScheduled(TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (!context.IsReplaying)
        {
            ServiceRetries.Add(1);
        }
    }

    /// <summary>Marks a span failed with a low-cardinality <c>error.type</c> (never the exception's message, which may quote a request).</summary>
    public static void Failed(Activity? span, string errorType)
    {
        span?.SetTag(GenAIAttributes.ErrorType, errorType);
        span?.SetStatus(ActivityStatusCode.Error, errorType);
    }

    static string Messages(string role, string text) =>
        JsonSerializer.Serialize(new[] { new { role, parts = new[] { new { type = "text", content = text } } } });
}
