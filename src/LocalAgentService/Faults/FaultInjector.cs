using System.Collections.Concurrent;
using System.Globalization;

namespace LocalAgentService.Faults;

/// <summary>A decided fault for one request.</summary>
internal sealed record FaultDecision(string Mode, int RetryAfterMs);

/// <summary>
/// Fault rules (from configuration and <c>POST /admin/faults</c>) and per-request header faults
/// (<c>x-local-fault</c>, <c>x-local-fault-count</c>, <c>x-local-fault-retry-after-ms</c>).
/// </summary>
internal sealed class FaultInjector
{
    public const string ModeHeader = "x-local-fault";
    public const string CountHeader = "x-local-fault-count";
    public const string RetryAfterHeader = "x-local-fault-retry-after-ms";
    public const int DefaultRetryAfterMs = 200;

    /// <summary>Mode that lets a streaming request start, then aborts the connection after the first event.</summary>
    public const string DropStream = "drop-stream";

    private readonly Lock sync = new();
    private readonly List<ActiveRule> rules = [];
    private readonly ConcurrentDictionary<string, int> headerHits = new(StringComparer.Ordinal);

    public FaultInjector(LocalAgentServerOptions options)
    {
        foreach (var rule in options.Faults)
        {
            Add(rule);
        }
    }

    /// <summary>Operations that create a run (or a response): the only ones <c>run-fail</c>/<c>run-expire</c> apply to.</summary>
    public static bool CreatesRun(string operation) => operation is "create-run" or "create-thread-and-run" or "create-response";

    /// <summary>Operations that can answer with an event stream: the only ones <c>drop-stream</c> applies to (and only when they stream).</summary>
    public static bool CanStream(string operation) =>
        operation is "create-run" or "create-thread-and-run" or "submit-tool-outputs" or "create-response" or "get-response";

    /// <summary>True for the modes this service understands: drop, drop-stream, run-fail, run-expire, or an HTTP status 400–599.</summary>
    public static bool IsValidMode(string? mode) =>
        mode is "drop" or DropStream or "run-fail" or "run-expire"
        || (int.TryParse(mode, NumberStyles.None, CultureInfo.InvariantCulture, out int status) && status is >= 400 and <= 599);

    public void Add(FaultRule rule)
    {
        if (!IsValidMode(rule.Mode))
        {
            throw ServiceException.Invalid($"Invalid fault mode '{rule.Mode}': use 429, 500 (any 4xx/5xx), drop, drop-stream, run-fail or run-expire.", "mode");
        }

        if (rule.Count is <= 0)
        {
            throw ServiceException.Invalid("Invalid 'count': must be at least 1 (omit it for no limit).", "count");
        }

        lock (sync)
        {
            rules.Add(new ActiveRule(rule, rule.Count ?? int.MaxValue));
        }
    }

    public IReadOnlyList<FaultRule> Rules
    {
        get
        {
            lock (sync)
            {
                return rules.Select(r => r.Rule).ToList();
            }
        }
    }

    public void Clear()
    {
        lock (sync)
        {
            rules.Clear();
        }

        headerHits.Clear();
    }

    /// <summary>Whether deciding could pick <c>drop-stream</c> (so the caller must find out whether the request streams).</summary>
    public bool MayDropStream(string? headerMode)
    {
        if (!string.IsNullOrEmpty(headerMode))
        {
            return headerMode == DropStream;
        }

        lock (sync)
        {
            return rules.Exists(r => r.Rule.Mode == DropStream);
        }
    }

    /// <summary>
    /// The fault for this request, if any: the request's headers first, then the first matching rule. A <c>drop-stream</c>
    /// fault only matches a request that streams (<paramref name="streams"/>); other requests pass it by untouched.
    /// </summary>
    public FaultDecision? Decide(string operation, string method, string path, Func<string, string?> header, bool streams = false)
    {
        if (header(ModeHeader) is { Length: > 0 } mode)
        {
            return mode == DropStream && !streams ? null : DecideFromHeaders(operation, method, path, mode, header);
        }

        lock (sync)
        {
            if (rules.Count == 0)
            {
                return null;
            }

            for (int i = 0; i < rules.Count; i++)
            {
                var active = rules[i];
                if (!Matches(active.Rule, operation) || (active.Rule.Mode == DropStream && !streams))
                {
                    continue;
                }

                if (--active.Remaining <= 0)
                {
                    rules.RemoveAt(i);
                }

                return new FaultDecision(active.Rule.Mode, active.Rule.RetryAfterMs ?? DefaultRetryAfterMs);
            }
        }

        return null;
    }

    private FaultDecision? DecideFromHeaders(string operation, string method, string path, string mode, Func<string, string?> header)
    {
        if (!IsValidMode(mode))
        {
            throw ServiceException.Invalid($"Invalid {ModeHeader} header '{mode}'.", ModeHeader);
        }

        if (mode.StartsWith("run-", StringComparison.Ordinal) && !CreatesRun(operation))
        {
            return null;
        }

        int retryAfter = ParseInt(header(RetryAfterHeader), RetryAfterHeader) ?? DefaultRetryAfterMs;
        if (ParseInt(header(CountHeader), CountHeader) is { } count)
        {
            // A count makes the header fault the first N identical requests, so a client that retries with the same header recovers.
            int hits = headerHits.AddOrUpdate($"{mode}|{method}|{path}", 1, (_, n) => n + 1);
            if (hits > count)
            {
                return null;
            }
        }

        return new FaultDecision(mode, retryAfter);
    }

    private static bool Matches(FaultRule rule, string operation)
    {
        if (rule.Mode.StartsWith("run-", StringComparison.Ordinal) && !CreatesRun(operation))
        {
            return false;
        }

        return rule.Operation is null or "*" || string.Equals(rule.Operation, operation, StringComparison.OrdinalIgnoreCase);
    }

    private static int? ParseInt(string? value, string name)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int result) && result >= 0
            ? result
            : throw ServiceException.Invalid($"Invalid {name} header '{value}': expected a non-negative integer.", name);
    }

    private sealed class ActiveRule(FaultRule rule, int remaining)
    {
        public FaultRule Rule { get; } = rule;
        public int Remaining { get; set; } = remaining;
    }
}
