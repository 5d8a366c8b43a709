using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Tools.Mcp;
using Microsoft.DurableTask;

namespace AgentJobs.Workflow;

/// <summary>
/// The approval step of a tool round: the calls a job's <see cref="ApprovalPolicy"/> holds wait for a person's
/// decision (the <see cref="AgentJobOrchestrator.ApprovalEventName"/> event) on a durable timer, while a cancel or the
/// deadline still stops the job. Everything is orchestration time and history, so it replays identically.
/// </summary>
internal static class ToolApprovals
{
    /// <summary>
    /// Waits until every held call is decided or the policy's timeout passes (undecided calls are then rejected, or
    /// the job stops under <c>onTimeout: "cancel"</c>). Returns each call's decision, or null when the job stopped
    /// meanwhile (cancel, deadline, timeout with cancel); decisions taken so far are recorded either way.
    /// </summary>
    public static async Task<IReadOnlyList<JobApproval>?> AwaitAsync(
        TaskOrchestrationContext context, JobTracker job, JobStopper stopper, IReadOnlyList<ToolCallRequest> held, ApprovalPolicy policy)
    {
        var log = context.CreateReplaySafeLogger<AgentJobOrchestrator>();
        var timeoutSeconds = policy.TimeoutSeconds ?? ApprovalPolicy.DefaultTimeoutSeconds;
        var expiresAt = context.CurrentUtcDateTime.AddSeconds(timeoutSeconds);
        var pending = held.Select(c => new PendingApproval(c.Id, c.Name, Preview(c.Arguments), expiresAt)).ToList();
        var decided = new List<JobApproval>();
        void Show() => job.Enter(JobPhase.AwaitingApproval, [.. pending.Select(p => p.Tool)], pendingApprovals: pending, decidedCallIds: [.. decided.Select(d => d.CallId)]);
        void Take(JobApproval approval)
        {
            decided.Add(approval);
            job.Decided(approval);
        }

        Show();
        await context.CallActivityAsync<int>(nameof(AgentJobActivities.RequestApprovals), new RequestApprovalsInput(context.InstanceId, pending), stopper.Working);

        // Two timers for the whole wait (one race per decision would start a timer per decision).
        using var timers = new RaceTimers(context);
        var timeout = timers.Start(expiresAt);
        var deadline = timers.Start(stopper.Deadline);
        try
        {
            while (pending.Count > 0 && !stopper.ShouldStop())
            {
                var next = job.NextDecision();
                var first = await Task.WhenAny(next, timeout, deadline, stopper.CancelRequested);
                if (first == next)
                {
                    var decision = job.TakeDecision();
                    if (pending.FirstOrDefault(p => p.CallId == decision.CallId) is not { } call)
                    {
                        // A late or repeated decision (the API refuses most of them, but two can race): the first one stands.
                        log.ApprovalDecisionIgnored(decision.CallId);
                        continue;
                    }

                    pending.Remove(call);
                    Take(new JobApproval(call.CallId, call.Tool, decision.Approved, decision.Reason, decision.DecidedBy, context.CurrentUtcDateTime));
                    Show();
                }
                else if (first == timeout)
                {
                    var reason = $"approval timed out after {timeoutSeconds} s";
                    if (policy.OnTimeout == ApprovalTimeoutAction.Cancel)
                    {
                        stopper.ApprovalTimedOut($"the approval of {string.Join(", ", pending.Select(p => $"{p.Tool} ({p.CallId})"))} timed out after {timeoutSeconds} s");
                        foreach (var call in pending)
                        {
                            Take(new JobApproval(call.CallId, call.Tool, Approved: false, $"{reason}; the job was cancelled", TimeoutDecider, context.CurrentUtcDateTime));
                        }

                        return null;
                    }

                    foreach (var call in pending)
                    {
                        Take(new JobApproval(call.CallId, call.Tool, Approved: false, reason, DecidedBy: TimeoutDecider, context.CurrentUtcDateTime));
                    }

                    pending.Clear();
                }
            }
        }
        finally
        {
            timers.Cancel();
        }

        if (pending.Count == 0)
        {
            return decided;
        }

        // Stopped (cancel, deadline) while calls waited: they are recorded as never run.
        foreach (var call in pending)
        {
            Take(new JobApproval(call.CallId, call.Tool, Approved: false, $"not decided before the job stopped: {stopper.Stop?.Message}", DecidedBy: null, context.CurrentUtcDateTime));
        }

        return null;
    }

    /// <summary>
    /// Whether the policy holds a call of <paramref name="functionName"/> (the name the agent service uses): a built-in
    /// tool by its name, an MCP tool by <c>server/tool</c> or <c>server/*</c> (mapped as <see cref="McpToolNames"/> does).
    /// Server names are case-insensitive everywhere (a job may list <c>M/echo</c> for the server configured as <c>m</c>,
    /// and the agent then calls <c>m__echo</c>), so the server part is compared ignoring case and the function name is
    /// rebuilt with the called name's own spelling of the server; tool names stay case-sensitive, as MCP has them.
    /// </summary>
    public static bool Holds(ApprovalPolicy? policy, string functionName) =>
        policy is not null && policy.Tools.Any(t =>
            t == ApprovalPolicy.AllTools
            || string.Equals(t, functionName, StringComparison.Ordinal)
            || (McpToolNames.TryParse(t, out var server, out var tool)
                && McpToolNames.ServerOf(functionName) is { } calledServer
                && string.Equals(calledServer, server, StringComparison.OrdinalIgnoreCase)
                && (tool == McpToolNames.AllTools || McpToolNames.FunctionName(calledServer, tool) == functionName)));

    /// <summary>Who "decided" a call nobody decided in time.</summary>
    public const string TimeoutDecider = "timeout";

    /// <summary>
    /// The output a rejected call gets, so the model can answer the user accordingly:
    /// <c>{"error":{"code":"rejected","message":"rejected by the user: …"}}</c>, or code <c>not_approved</c> for a call
    /// nobody decided in time.
    /// </summary>
    public static ToolOutput RejectionOutput(JobApproval rejected) => new(
        rejected.CallId,
        System.Text.Json.JsonSerializer.Serialize(rejected.DecidedBy == TimeoutDecider
            ? new { error = new { code = "not_approved", message = $"not run: {rejected.Reason}" } }
            : new { error = new { code = "rejected", message = $"rejected by the user: {rejected.Reason ?? "no reason given"}" } }),
        IsError: true);

    /// <summary>The run steps with each held call's decision on its tool call.</summary>
    public static IReadOnlyList<JobRunStep> Annotate(IReadOnlyList<JobRunStep> steps, IReadOnlyList<JobApproval> approvals)
    {
        if (approvals.Count == 0)
        {
            return steps;
        }

        var byCall = approvals.GroupBy(a => a.CallId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        return [.. steps.Select(step => step with
        {
            ToolCalls = [.. step.ToolCalls.Select(call => byCall.TryGetValue(call.Id, out var approval) ? call with { Approval = approval } : call)],
        })];
    }

    static string Preview(string arguments) =>
        arguments.Length <= PendingApproval.PreviewChars ? arguments : string.Concat(arguments.AsSpan(0, PendingApproval.PreviewChars), "…");
}
