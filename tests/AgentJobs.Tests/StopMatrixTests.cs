using System.Collections.Concurrent;
using System.Diagnostics;
using AgentJobs.AgentService;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Events;
using AgentJobs.Sessions;
using AgentJobs.Tests.Support;
using AgentJobs.Tools;
using AgentJobs.Workflow;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tests;

/// <summary>
/// Issue 19's matrix: the phase a stop arrives in × the kind of stop, for jobs and for session turns, every cell on one
/// in-memory host at once (the scripted service holds each cell's phase by its agent name or thread). Every cell checks
/// the same invariants (<see cref="StopMatrix.AssertInvariantsAsync"/>): terminal within its bound, the stop's outcome,
/// one stop recorded and the first kept, the agent deleted, the thread usable by a follow-up job, every approval
/// requested closed by a decision, and the event stream ending with <c>result</c>. The protocols differ only below the
/// port (their adapters are covered end to end elsewhere), so the port-level matrix stands for both.
/// </summary>
public class StopMatrixTests
{
    [Fact]
    public async Task Every_phase_and_kind_of_stop_ends_a_job_with_the_stops_outcome_and_keeps_every_invariant()
    {
        var clock = Stopwatch.StartNew();
        await using var matrix = await StopMatrix.StartAsync();
        var outcomes = await Task.WhenAll(StopMatrix.Selected(StopMatrix.JobCells).Select(matrix.RunJobCellAsync));

        foreach (var o in outcomes.OrderBy(o => o.Cell))
        {
            TestContext.Current.SendDiagnosticMessage($"{o.Cell,-44} {o.Outcome,-15} {o.StopReason,-16} terminal {o.TerminalSeconds,5:0.00} s after the stop{(o.Problem is null ? "" : "  FAILED: " + o.Problem)}");
        }

        TestContext.Current.SendDiagnosticMessage($"{outcomes.Length} job cells in {clock.Elapsed.TotalSeconds:0.0} s; slowest stop {outcomes.Max(o => o.TerminalSeconds):0.00} s");
        Assert.Empty(outcomes.Where(o => o.Problem is not null).Select(o => $"{o.Cell}: {o.Problem}"));
        Assert.Empty(matrix.Host.Service.LiveAgents);
    }

    [Fact]
    public async Task Every_phase_and_kind_of_stop_ends_a_session_turn_with_the_stops_outcome_and_keeps_every_invariant()
    {
        var clock = Stopwatch.StartNew();
        await using var matrix = await StopMatrix.StartAsync();
        var outcomes = await Task.WhenAll(StopMatrix.Selected(StopMatrix.TurnCells).Select(matrix.RunTurnCellAsync));

        foreach (var o in outcomes.OrderBy(o => o.Cell))
        {
            TestContext.Current.SendDiagnosticMessage($"{o.Cell,-44} {o.Outcome,-15} {o.StopReason,-16} terminal {o.TerminalSeconds,5:0.00} s after the stop{(o.Problem is null ? "" : "  FAILED: " + o.Problem)}");
        }

        TestContext.Current.SendDiagnosticMessage($"{outcomes.Length} turn cells in {clock.Elapsed.TotalSeconds:0.0} s; slowest cell {outcomes.Max(o => o.CellSeconds):0.0} s ({outcomes.MaxBy(o => o.CellSeconds)!.Cell})");
        Assert.Empty(outcomes.Where(o => o.Problem is not null).Select(o => $"{o.Cell}: {o.Problem}"));
        Assert.Empty(matrix.Host.Service.LiveAgents);
    }
}

/// <summary>Phases a stop can arrive in (issue 19's list).</summary>
public enum StopPhase
{
    BeforeAgent,
    CreatingAgent,
    CreatingThread,
    BetweenThreadAndStart,
    StartRunStreaming,
    Polling,
    RunningTools,
    AwaitingApproval,
    SubmitStreaming,
    CollectingResults,
    CleaningUp,
}

/// <summary>Kinds of stop.</summary>
public enum StopKind
{
    Cancel,
    Deadline,
    TokenBudget,
    ToolRounds,
    ApprovalTimeoutReject,
    ApprovalTimeoutCancel,
    ServiceRefuses,
    RetriesExhausted,
    CancelTurn,
    EndSession,
    IdleExpiry,
}

/// <summary>One cell: where the stop arrives, what it is, and what the job must end as.</summary>
public sealed record StopCell(StopPhase Phase, StopKind Stop, JobOutcome Outcome, StopReason? Reason, bool Honoured = true)
{
    public string Name => $"{Phase}×{Stop}";
}

/// <summary>What a cell ended as, and the first invariant it broke (null when none).</summary>
public sealed record CellOutcome(string Cell, JobOutcome? Outcome, StopReason? StopReason, double TerminalSeconds, string? Problem)
{
    /// <summary>The whole cell, follow-up included.</summary>
    public double CellSeconds { get; init; }
}

/// <summary>The matrix's host, tools, per-cell holds and invariants; shared with the Azurite slice and the random driver.</summary>
public sealed class StopMatrix : IAsyncDisposable
{
    /// <summary>A stop takes effect within this (from the moment it is sent, or the held step is let go).</summary>
    public const double BoundSeconds = 15;

    /// <summary>Service retries back off 1 + 2 + 4 + 8 s before they are given up.</summary>
    public const double RetriesBoundSeconds = 40;

    static readonly TaskCompletionSource<string> Never = new(TaskCreationOptions.RunContinuationsAsynchronously);

    readonly ConcurrentDictionary<string, Func<string, Task>> holds = new(StringComparer.Ordinal);
    int counter;

    StopMatrix(WorkflowHost host) => Host = host;

    public WorkflowHost Host { get; }

    /// <summary>The job cells: every phase × every stop that can arrive in it.</summary>
    public static IReadOnlyList<StopCell> JobCells { get; } =
    [
        new(StopPhase.BeforeAgent, StopKind.Cancel, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.CreatingAgent, StopKind.Cancel, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.CreatingAgent, StopKind.Deadline, JobOutcome.TimedOut, StopReason.DeadlinePassed),
        new(StopPhase.CreatingAgent, StopKind.ServiceRefuses, JobOutcome.Failed, StopReason.Failed),
        new(StopPhase.CreatingAgent, StopKind.RetriesExhausted, JobOutcome.Failed, StopReason.Failed),
        new(StopPhase.CreatingThread, StopKind.Cancel, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.CreatingThread, StopKind.Deadline, JobOutcome.TimedOut, StopReason.DeadlinePassed),
        new(StopPhase.CreatingThread, StopKind.ServiceRefuses, JobOutcome.Failed, StopReason.Failed),
        new(StopPhase.BetweenThreadAndStart, StopKind.Cancel, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.BetweenThreadAndStart, StopKind.Deadline, JobOutcome.TimedOut, StopReason.DeadlinePassed),
        new(StopPhase.BetweenThreadAndStart, StopKind.ServiceRefuses, JobOutcome.Failed, StopReason.Failed),
        new(StopPhase.StartRunStreaming, StopKind.Cancel, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.StartRunStreaming, StopKind.Deadline, JobOutcome.TimedOut, StopReason.DeadlinePassed),
        new(StopPhase.Polling, StopKind.Cancel, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.Polling, StopKind.Deadline, JobOutcome.TimedOut, StopReason.DeadlinePassed),
        new(StopPhase.Polling, StopKind.ServiceRefuses, JobOutcome.Failed, StopReason.Failed),
        new(StopPhase.Polling, StopKind.RetriesExhausted, JobOutcome.Failed, StopReason.Failed),
        new(StopPhase.RunningTools, StopKind.Cancel, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.RunningTools, StopKind.Deadline, JobOutcome.TimedOut, StopReason.DeadlinePassed),
        new(StopPhase.RunningTools, StopKind.TokenBudget, JobOutcome.BudgetExceeded, StopReason.BudgetExceeded),
        new(StopPhase.RunningTools, StopKind.ToolRounds, JobOutcome.BudgetExceeded, StopReason.BudgetExceeded),
        new(StopPhase.AwaitingApproval, StopKind.Cancel, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.AwaitingApproval, StopKind.Deadline, JobOutcome.TimedOut, StopReason.DeadlinePassed),
        new(StopPhase.AwaitingApproval, StopKind.ApprovalTimeoutReject, JobOutcome.Completed, null),
        new(StopPhase.AwaitingApproval, StopKind.ApprovalTimeoutCancel, JobOutcome.Cancelled, StopReason.ApprovalTimedOut),
        new(StopPhase.SubmitStreaming, StopKind.Cancel, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.SubmitStreaming, StopKind.Deadline, JobOutcome.TimedOut, StopReason.DeadlinePassed),
        new(StopPhase.SubmitStreaming, StopKind.ServiceRefuses, JobOutcome.Failed, StopReason.Failed),
        new(StopPhase.CollectingResults, StopKind.Cancel, JobOutcome.Completed, StopReason.CancelRequested, Honoured: false),
        new(StopPhase.CollectingResults, StopKind.ServiceRefuses, JobOutcome.Failed, StopReason.Failed),
        new(StopPhase.CleaningUp, StopKind.Cancel, JobOutcome.Completed, StopReason.CancelRequested, Honoured: false),
    ];

    /// <summary>The session cells: a turn stopped in each phase where a turn waits, by the session's own stops.</summary>
    public static IReadOnlyList<StopCell> TurnCells { get; } =
    [
        new(StopPhase.Polling, StopKind.CancelTurn, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.Polling, StopKind.EndSession, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.Polling, StopKind.Deadline, JobOutcome.TimedOut, StopReason.DeadlinePassed),
        new(StopPhase.RunningTools, StopKind.CancelTurn, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.RunningTools, StopKind.EndSession, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.AwaitingApproval, StopKind.CancelTurn, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.AwaitingApproval, StopKind.EndSession, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.AwaitingApproval, StopKind.ApprovalTimeoutCancel, JobOutcome.Cancelled, StopReason.ApprovalTimedOut),
        new(StopPhase.StartRunStreaming, StopKind.CancelTurn, JobOutcome.Cancelled, StopReason.CancelRequested),
        new(StopPhase.CollectingResults, StopKind.IdleExpiry, JobOutcome.Completed, null),
    ];

    /// <summary>The cells to run: all, or those whose name contains one of AGENTJOBS_MATRIX_CELLS (comma-separated), to replay a few.</summary>
    public static IReadOnlyList<StopCell> Selected(IReadOnlyList<StopCell> cells) =>
        Environment.GetEnvironmentVariable("AGENTJOBS_MATRIX_CELLS") is { Length: > 0 } filter
            ? [.. cells.Where(c => filter.Split(',').Any(f => c.Name.Contains(f.Trim(), StringComparison.OrdinalIgnoreCase)))]
            : cells;

    public static async Task<StopMatrix> StartAsync()
    {
        var host = await WorkflowHost.StartAsync(services => services
            .AddAgentTool("hang", "Never returns in time.", () => Never.Task)
            .AddAgentTool("quick", "Returns at once.", () => "done"));
        var matrix = new StopMatrix(host);
        host.Service.OneRunPerThread = true;
        host.Service.CancelSettlesAfter = TimeSpan.FromMilliseconds(100);
        host.Service.StreamFor = TimeSpan.FromSeconds(60); // a streamed start or submission is held until cancelled
        host.Service.StreamForPrompt = prompt => prompt.StartsWith("followup", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(50) : TimeSpan.FromSeconds(60);
        host.Service.Script = matrix.ScriptFor;
        host.Service.Before = matrix.BeforeAsync;
        return matrix;
    }

    public async ValueTask DisposeAsync() => await Host.DisposeAsync();

    static ToolCallRequest Call(string id, string name) => new(id, name, "{}");

    // The cell is the prompt's first word; a follow-up job's prompt is "followup …" and runs the default script.
    IReadOnlyList<ScriptStep> ScriptFor(string prompt)
    {
        var parts = prompt.Split(' ');
        if (parts.Length < 3 || !Enum.TryParse<StopPhase>(parts[1], out var phase) || !Enum.TryParse<StopKind>(parts[2], out var stop))
        {
            return ScriptStep.InProgressThen(1);
        }

        return (phase, stop) switch
        {
            (StopPhase.RunningTools, StopKind.TokenBudget) => [new("requires_action", [Call("call_1", "quick")], Usage: new TokenUsage(200, 100, 300)), .. ScriptStep.InProgressThen(100_000)],
            (StopPhase.Polling, _) or (StopPhase.BetweenThreadAndStart, _) or (StopPhase.StartRunStreaming, _) => ScriptStep.InProgressThen(100_000),
            (StopPhase.RunningTools, StopKind.ToolRounds) => [ScriptStep.Tools(Call("call_1", "quick")), ScriptStep.Tools(Call("call_2", "quick")), ScriptStep.Of("completed")],
            (StopPhase.RunningTools, _) => [ScriptStep.Tools(Call("call_1", "hang")), ScriptStep.Of("completed")],
            (StopPhase.AwaitingApproval, StopKind.ApprovalTimeoutReject) => [ScriptStep.Tools(Call("call_1", "quick")), ScriptStep.Of("completed")],
            (StopPhase.AwaitingApproval, _) or (StopPhase.SubmitStreaming, _) => [ScriptStep.Tools(Call("call_1", "quick")), .. ScriptStep.InProgressThen(100_000)],
            _ => ScriptStep.InProgressThen(1),
        };
    }

    // Holds are per cell: the agent's name is the cell's tag, and so is its thread ("thread-<tag>") and its instance id.
    Task BeforeAsync(string operation, string tag)
    {
        var cell = tag.StartsWith("thread-", StringComparison.Ordinal) ? tag["thread-".Length..] : tag.Split(':')[0];
        return holds.TryGetValue(cell, out var hold) ? hold(operation) : Task.CompletedTask;
    }

    static string HeldOperation(StopPhase phase) => phase switch
    {
        StopPhase.CreatingAgent => "CreateAgent",
        StopPhase.CreatingThread => "CreateThread",
        StopPhase.BetweenThreadAndStart => "StartRun",
        StopPhase.Polling => "GetRun",
        StopPhase.SubmitStreaming => "SubmitToolOutputs",
        StopPhase.CollectingResults => "ListMessages",
        StopPhase.CleaningUp => "DeleteAgent",
        _ => "",
    };

    /// <summary>Runs one job cell to its end and checks every invariant; never throws for a broken one (it is reported).</summary>
    public async Task<CellOutcome> RunJobCellAsync(StopCell cell)
    {
        var tag = $"mx{Interlocked.Increment(ref counter):000}";
        try
        {
            return await RunJobCellCoreAsync(cell, tag);
        }
        catch (Exception ex)
        {
            return new CellOutcome(cell.Name, null, null, 0, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    async Task<CellOutcome> RunJobCellCoreAsync(StopCell cell, string tag)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var held = HeldOperation(cell.Phase);
        var holdsStep = cell.Phase is StopPhase.CreatingAgent or StopPhase.CreatingThread or StopPhase.BetweenThreadAndStart or StopPhase.CollectingResults or StopPhase.CleaningUp;
        var once = 0;
        var failing = true; // a follow-up job on the thread is not failed
        holds[tag] = async operation =>
        {
            if (operation != held || !Volatile.Read(ref failing))
            {
                return;
            }

            switch (cell.Stop)
            {
                case StopKind.ServiceRefuses when Interlocked.Exchange(ref once, 1) == 0:
                    reached.TrySetResult();
                    throw new AgentServiceException($"{operation} refused (matrix)", 400);
                case StopKind.RetriesExhausted:
                    reached.TrySetResult();
                    throw new TransientAgentServiceException($"{operation} busy (matrix)", 503);
                case StopKind.ServiceRefuses:
                    return;
            }

            if (holdsStep && Interlocked.Exchange(ref once, 1) == 0)
            {
                reached.TrySetResult();
                await release.Task;
            }
            else if (!holdsStep)
            {
                reached.TrySetResult();
            }
        };

        var streamed = cell.Phase is StopPhase.StartRunStreaming or StopPhase.SubmitStreaming or StopPhase.BetweenThreadAndStart;
        var request = new AgentJobRequest(
            $"{tag} {cell.Phase} {cell.Stop}",
            AgentName: tag,
            Tools: cell.Phase is StopPhase.RunningTools or StopPhase.AwaitingApproval or StopPhase.SubmitStreaming ? ["hang", "quick"] : null,
            ThreadId: cell.Phase is StopPhase.CreatingThread ? null : $"thread-{tag}",
            MaxDurationSeconds: cell.Stop == StopKind.Deadline ? 3 : 600,
            Polling: WorkflowHost.FastPolling with { StreamWindowSeconds = streamed ? 60 : 0 },
            MaxToolRounds: cell.Stop == StopKind.ToolRounds ? 1 : null,
            MaxTotalTokens: cell.Stop == StopKind.TokenBudget ? 200 : null,
            Approval: cell.Phase == StopPhase.AwaitingApproval
                ? new ApprovalPolicy(["quick"], cell.Stop is StopKind.ApprovalTimeoutReject or StopKind.ApprovalTimeoutCancel ? 2 : 600,
                    cell.Stop == StopKind.ApprovalTimeoutCancel ? ApprovalTimeoutAction.Cancel : ApprovalTimeoutAction.Reject)
                : null);
        var settled = Host.Services.GetRequiredService<AgentJobs.Application.AgentJobPolicy>().Settle(request);
        var id = await Host.Client.ScheduleNewOrchestrationInstanceAsync(AgentJobOrchestrator.Name, settled, new StartOrchestrationOptions(tag));
        var stopwatch = Stopwatch.StartNew();

        if (cell.Phase != StopPhase.BeforeAgent)
        {
            await WaitAsync(cell.Phase switch
            {
                StopPhase.StartRunStreaming => Until(() => Host.Service.Calls.Any(c => c.Operation == "StartRun" && c.Target == $"thread-{tag}")),
                StopPhase.RunningTools when cell.Stop is not StopKind.ToolRounds and not StopKind.TokenBudget => Until(async () => (await Host.CustomStatusAsync<JobProgress>(id))?.Phase == JobPhase.RunningTools),
                StopPhase.AwaitingApproval => Until(async () => (await Host.CustomStatusAsync<JobProgress>(id))?.Phase == JobPhase.AwaitingApproval),
                _ when held.Length > 0 => reached.Task,
                _ => Task.CompletedTask,
            }, $"{cell.Name} to reach its phase");
        }

        var effective = Stopwatch.StartNew();
        switch (cell.Stop)
        {
            case StopKind.Cancel:
                await JobEvents.RaiseAsync(Host.Client, id, AgentJobOrchestrator.CancelEventName, "first", CancellationToken.None);
                await JobEvents.RaiseAsync(Host.Client, id, AgentJobOrchestrator.CancelEventName, "second", CancellationToken.None);
                break;
            case StopKind.Deadline:
                // The deadline passes while the step is held; a held step is let go just after it.
                await Task.Delay(TimeSpan.FromSeconds(3.5) - stopwatch.Elapsed > TimeSpan.Zero ? TimeSpan.FromSeconds(3.5) - stopwatch.Elapsed : TimeSpan.Zero);
                break;
        }

        if (holdsStep && cell.Stop is StopKind.Cancel or StopKind.Deadline)
        {
            await Task.Delay(200);
            effective.Restart();
            release.TrySetResult();
        }

        var done = await Host.WaitForEndAsync(id, timeoutSeconds: (int)RetriesBoundSeconds + 20);
        var terminal = effective.Elapsed.TotalSeconds;
        Volatile.Write(ref failing, false);
        release.TrySetResult();
        var result = done.ReadOutputAs<AgentJobResult>();
        var problem = done.RuntimeStatus != OrchestrationRuntimeStatus.Completed || result is null
            ? $"runtime status {done.RuntimeStatus}"
            : await AssertInvariantsAsync(Host, id, cell, result, terminal);
        return new CellOutcome(cell.Name, result?.Outcome, result?.Stop?.Reason, terminal, problem);
    }

    /// <summary>The invariants of a cell; the first broken one, or null.</summary>
    public static async Task<string?> AssertInvariantsAsync(WorkflowHost host, string id, StopCell cell, AgentJobResult result, double terminalSeconds)
    {
        var bound = cell.Stop == StopKind.RetriesExhausted ? RetriesBoundSeconds : BoundSeconds;
        if (terminalSeconds > bound)
        {
            return $"terminal {terminalSeconds:0.0} s after the stop (bound {bound} s)";
        }

        if (result.Outcome != cell.Outcome)
        {
            return $"outcome {result.Outcome}, expected {cell.Outcome} ({result.Failure?.Message}; stop {result.Stop})";
        }

        if (result.Stop?.Reason != cell.Reason)
        {
            return $"stop {result.Stop?.Reason.ToString() ?? "none"}, expected {cell.Reason?.ToString() ?? "none"} ({result.Stop?.Message})";
        }

        if (result.Stop is { } stop && stop.Honoured != cell.Honoured)
        {
            return $"stop honoured {stop.Honoured}, expected {cell.Honoured}";
        }

        if (cell.Stop == StopKind.Cancel && result.Stop?.Message.Contains("first", StringComparison.Ordinal) != true)
        {
            return $"the first cancel did not win: {result.Stop?.Message}";
        }

        if (!result.AgentDeleted && result.AgentId is not null)
        {
            return "agent not deleted";
        }

        if (result.AgentId is { } agent && host.Service.LiveAgents.Contains(agent))
        {
            return $"agent {agent} still on the service";
        }

        var (events, finished) = await new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id).ReadAsync(CancellationToken.None);
        if (!finished || events.Count == 0 || events[^1].Type != JobEventTypes.Result)
        {
            return $"the event stream does not end with result (last: {(events.Count > 0 ? events[^1].Type : "none")})";
        }

        var requested = events.Where(e => e.Type == JobEventTypes.ApprovalRequested).Select(e => (string?)e.Data["callId"]).Order().ToList();
        var decided = events.Where(e => e.Type == JobEventTypes.ApprovalDecided).Select(e => (string?)e.Data["callId"]).Order().ToList();
        if (!requested.SequenceEqual(decided))
        {
            return $"approvals requested [{string.Join(", ", requested)}] but decided [{string.Join(", ", decided)}]";
        }

        return await FollowUpProblemAsync(host, result.ThreadId);
    }

    /// <summary>A follow-up job on the thread must complete (no run left active on it); null when it does or there is no thread.</summary>
    public static async Task<string?> FollowUpProblemAsync(WorkflowHost host, string? threadId)
    {
        if (threadId is null)
        {
            return null;
        }

        // A run the job cancelled as it failed settles on the service's own time (the job cannot watch it when reads
        // fail); the follow-up starts once the service shows no run active on the thread, within a bound.
        var settled = Stopwatch.StartNew();
        while (host.Service.RunsOn(threadId).Any(r => r.Status is "cancelling") && settled.Elapsed < TimeSpan.FromSeconds(5))
        {
            await Task.Delay(20);
        }

        var followUp = await host.Client.ScheduleNewOrchestrationInstanceAsync(
            AgentJobOrchestrator.Name,
            host.Services.GetRequiredService<AgentJobs.Application.AgentJobPolicy>().Settle(new AgentJobRequest("followup", ThreadId: threadId, Polling: WorkflowHost.FastPolling with { StreamWindowSeconds = 0 })));
        var done = (await host.WaitForEndAsync(followUp)).ReadOutputAs<AgentJobResult>();
        return done?.Outcome == JobOutcome.Completed ? null
            : $"a follow-up job on {threadId} ended {done?.Outcome}: {done?.Failure?.Message} (runs: {string.Join(", ", host.Service.RunsOn(threadId).Select(r => $"{r.RunId} {r.Status} after {string.Join("/", host.Service.Calls.Where(c => c.Target == r.RunId).Select(c => $"{c.Operation}@{c.At:mm:ss.fff}"))}"))})";
    }

    /// <summary>Runs one session-turn cell: a session whose turn is stopped in the cell's phase by the cell's stop.</summary>
    public async Task<CellOutcome> RunTurnCellAsync(StopCell cell)
    {
        var tag = $"ms{Interlocked.Increment(ref counter):000}";
        var clock = Stopwatch.StartNew();
        try
        {
            return await RunTurnCellCoreAsync(cell, tag) with { CellSeconds = clock.Elapsed.TotalSeconds };
        }
        catch (Exception ex)
        {
            return new CellOutcome(cell.Name, null, null, 0, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    async Task<CellOutcome> RunTurnCellCoreAsync(StopCell cell, string tag)
    {
        var idle = cell.Stop == StopKind.IdleExpiry;
        var template = new AgentJobRequest(
            "(session)", AgentName: tag, Tools: ["hang", "quick"], ThreadId: $"thread-{tag}",
            Polling: WorkflowHost.FastPolling with { StreamWindowSeconds = cell.Phase == StopPhase.StartRunStreaming ? 60 : 0 },
            Approval: cell.Phase == StopPhase.AwaitingApproval
                ? new ApprovalPolicy(["quick"], cell.Stop == StopKind.ApprovalTimeoutCancel ? 2 : 600, cell.Stop == StopKind.ApprovalTimeoutCancel ? ApprovalTimeoutAction.Cancel : ApprovalTimeoutAction.Reject)
                : null);
        var state = new SessionState(Host.Services.GetRequiredService<AgentJobs.Application.AgentJobPolicy>().Settle(template), idle ? 1 : 300, KeepThread: false, ThreadId: template.ThreadId);
        var session = await Host.Client.ScheduleNewOrchestrationInstanceAsync(AgentSessionOrchestrator.Name, state, new StartOrchestrationOptions(tag));
        var turn = SessionRequests.Turn(state, idle ? "hello" : $"{tag} {cell.Phase} {cell.Stop}", cell.Stop == StopKind.Deadline ? 3 : 600);
        await SessionRequests.SendTurnAsync(Host.Client, session, turn, CancellationToken.None);
        var turnId = InstanceIds.Turn(session, 1);
        await WaitAsync(Until(async () => await Host.Client.GetInstanceAsync(turnId) is not null), $"{cell.Name}: the turn to start");
        if (!idle)
        {
            await WaitAsync(Until(async () => (await Host.CustomStatusAsync<JobProgress>(turnId))?.Phase switch
            {
                JobPhase.RunningTools => cell.Phase == StopPhase.RunningTools,
                JobPhase.AwaitingApproval => cell.Phase == StopPhase.AwaitingApproval,
                _ => cell.Phase == StopPhase.StartRunStreaming ? Host.Service.Calls.Any(c => c.Operation == "StartRun" && c.Target == $"thread-{tag}")
                    : cell.Phase == StopPhase.Polling && Host.Service.Calls.Any(c => c.Operation == "GetRun") && (await Host.CustomStatusAsync<JobProgress>(turnId))?.Phase == JobPhase.Polling,
            }), $"{cell.Name}: the turn to reach its phase");
        }

        var effective = Stopwatch.StartNew();
        switch (cell.Stop)
        {
            case StopKind.CancelTurn:
                await JobEvents.RaiseAsync(Host.Client, turnId, AgentJobOrchestrator.CancelEventName, "first", CancellationToken.None);
                break;
            case StopKind.EndSession:
                var running = (await Host.Client.GetInstanceAsync(session, getInputsAndOutputs: true))?.ReadCustomStatusAs<SessionProgress>()?.RunningTurn;
                await SessionRequests.EndAsync(Host.Client, session, "first", running, CancellationToken.None);
                break;
        }

        var done = await Host.WaitForEndAsync(turnId, timeoutSeconds: (int)BoundSeconds + 30);
        var terminal = effective.Elapsed.TotalSeconds;
        var result = done.ReadOutputAs<SessionTurnResult>();
        string? problem = null;
        if (terminal > BoundSeconds + (cell.Stop is StopKind.Deadline or StopKind.ApprovalTimeoutCancel ? 3 : 0))
        {
            problem = $"turn terminal {terminal:0.0} s after the stop (bound {BoundSeconds} s)";
        }
        else if (result?.Outcome != cell.Outcome)
        {
            problem = $"turn outcome {result?.Outcome}, expected {cell.Outcome} ({result?.Failure?.Message})";
        }

        // The session goes on after a cancel-turn or a turn's own stop: a second turn on the same thread completes.
        if (problem is null && cell.Stop is not StopKind.EndSession and not StopKind.IdleExpiry)
        {
            var next = SessionRequests.Turn(state, "followup", 60);
            await SessionRequests.SendTurnAsync(Host.Client, session, next, CancellationToken.None);
            var second = InstanceIds.Turn(session, 2);
            await WaitAsync(Until(async () => await Host.Client.GetInstanceAsync(second) is not null), $"{cell.Name}: the follow-up turn");
            var followUp = (await Host.WaitForEndAsync(second)).ReadOutputAs<SessionTurnResult>();
            problem = followUp?.Outcome == JobOutcome.Completed ? null : $"the follow-up turn ended {followUp?.Outcome}: {followUp?.Failure?.Message}";
            var running = (await Host.Client.GetInstanceAsync(session, getInputsAndOutputs: true))?.ReadCustomStatusAs<SessionProgress>()?.RunningTurn;
            await SessionRequests.EndAsync(Host.Client, session, "done", running, CancellationToken.None);
        }

        var ended = (await Host.WaitForEndAsync(session, timeoutSeconds: 60)).ReadOutputAs<AgentSessionResult>();
        if (problem is null && (ended is null || !ended.AgentDeleted || (ended.AgentId is { } agent && Host.Service.LiveAgents.Contains(agent))))
        {
            problem = $"session agent not deleted ({ended?.Reason})";
        }

        if (problem is null && idle && ended?.Reason != "idle")
        {
            problem = $"session ended '{ended?.Reason}', expected idle";
        }

        if (problem is null)
        {
            var (events, finished) = await new JobEventReader(Host.Services.GetRequiredService<IJobHistorySource>(), turnId).ReadAsync(CancellationToken.None);
            var requested = events.Where(e => e.Type == JobEventTypes.ApprovalRequested).Select(e => (string?)e.Data["callId"]).Order().ToList();
            var decided = events.Where(e => e.Type == JobEventTypes.ApprovalDecided).Select(e => (string?)e.Data["callId"]).Order().ToList();
            problem = !finished || events.Count == 0 || events[^1].Type != JobEventTypes.Result ? "the turn's event stream does not end with result"
                : !requested.SequenceEqual(decided) ? $"turn approvals requested [{string.Join(", ", requested)}] but decided [{string.Join(", ", decided)}]"
                : await FollowUpProblemAsync(Host, ended?.ThreadId);
        }

        return new CellOutcome(cell.Name, result?.Outcome, result?.Stop?.Reason, terminal, problem);
    }

    static Task Until(Func<bool> condition) => Until(() => Task.FromResult(condition()));

    static async Task Until(Func<Task<bool>> condition)
    {
        while (!await condition())
        {
            await Task.Delay(20);
        }
    }

    static async Task WaitAsync(Task task, string what)
    {
        if (await Task.WhenAny(task, Task.Delay(TimeSpan.FromSeconds(60))) != task)
        {
            throw new TimeoutException($"Timed out after 60 s waiting for {what}.");
        }

        await task;
    }
}
