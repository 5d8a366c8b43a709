using System.Diagnostics;
using System.Globalization;
using AgentJobs.Telemetry;

namespace AgentFunctions.Local;

/// <summary>
/// A compact text tree of one trace (<c>run --trace</c>): one line per span with its duration and key attributes.
/// The Durable SDK's pair for one activity (the orchestrator's <c>activity:X</c> client span and the worker's
/// <c>activity:X</c> execution span under it) shows as one line, the execution's, as does a sub-orchestration's pair.
/// </summary>
internal static class SpanTree
{
    /// <summary>Attributes shown, in this order, when a span has them.</summary>
    static readonly string[] Shown =
    [
        GenAIAttributes.OperationName, GenAIAttributes.RequestModel, GenAIAttributes.AgentId, GenAIAttributes.ToolName,
        GenAIAttributes.ToolCallId, GenAIAttributes.UsageInputTokens, GenAIAttributes.UsageOutputTokens, GenAIAttributes.JobOutcome,
        "http.response.status_code", GenAIAttributes.ErrorType,
    ];

    /// <summary>The lines of the trace that holds the first span matching <paramref name="inTrace"/>, its roots in start order.</summary>
    public static IReadOnlyList<string> Render(IReadOnlyList<Activity> spans, Func<Activity, bool> inTrace)
    {
        ArgumentNullException.ThrowIfNull(spans);
        if (spans.FirstOrDefault(inTrace) is not { } anchor)
        {
            return ["(no spans recorded)"];
        }

        var trace = spans.Where(s => s.TraceId == anchor.TraceId).ToList();
        var ids = trace.Select(s => s.SpanId).ToHashSet();
        var children = trace.ToLookup(s => s.ParentSpanId);
        var lines = new List<string> { $"Trace {anchor.TraceId} · {trace.Count} spans" };
        foreach (var root in trace.Where(s => !ids.Contains(s.ParentSpanId)).OrderBy(s => s.StartTimeUtc))
        {
            Write(root, "", "", lines, children);
        }

        return lines;
    }

    static void Write(Activity span, string lead, string indent, List<string> lines, ILookup<ActivitySpanId, Activity> children)
    {
        // A client span whose only child is the execution of the same name: show the execution.
        var below = children[span.SpanId].OrderBy(s => s.StartTimeUtc).ToList();
        if (span.Kind is ActivityKind.Client or ActivityKind.Producer && below is [{ Kind: ActivityKind.Server } only] && only.DisplayName == span.DisplayName)
        {
            Write(only, lead, indent, lines, children);
            return;
        }

        lines.Add($"{lead}{Name(span)}  {Duration(span.Duration)}{Attributes(span)}");
        for (var i = 0; i < below.Count; i++)
        {
            var last = i == below.Count - 1;
            Write(below[i], indent + (last ? "└─ " : "├─ "), indent + (last ? "   " : "│  "), lines, children);
        }
    }

    /// <summary>The span's name; an HTTP call's (named by its method only) gets its path, without the query.</summary>
    static string Name(Activity span) =>
        span.GetTagItem("url.full") is string url && Uri.TryCreate(url, UriKind.Absolute, out var uri)
            ? $"{span.DisplayName} {uri.AbsolutePath}"
            : span.GetTagItem("url.path") is string path ? $"{span.DisplayName} {path}" : span.DisplayName;

    static string Attributes(Activity span)
    {
        var shown = Shown.Select(key => span.GetTagItem(key) is { } value ? $"{Short(key)}={Convert.ToString(value, CultureInfo.InvariantCulture)}" : null)
            .Where(text => text is not null)
            .ToList();
        if (span.Status == ActivityStatusCode.Error)
        {
            shown.Add("status=error");
        }

        return shown.Count == 0 ? "" : "  " + string.Join(" ", shown);
    }

    static string Short(string key) => key == "http.response.status_code" ? "status"
        : key.StartsWith("gen_ai.", StringComparison.Ordinal) ? key["gen_ai.".Length..]
        : key.StartsWith("agentjobs.", StringComparison.Ordinal) ? key["agentjobs.".Length..]
        : key;

    static string Duration(TimeSpan duration) => duration.TotalSeconds >= 1
        ? duration.TotalSeconds.ToString("0.00 's'", CultureInfo.InvariantCulture)
        : duration.TotalMilliseconds.ToString("0 'ms'", CultureInfo.InvariantCulture);
}
