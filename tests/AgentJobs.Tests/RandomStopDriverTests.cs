using System.Diagnostics;
using System.Globalization;
using AgentJobs.Application;
using AgentJobs.Configuration;
using AgentJobs.Contracts;
using AgentJobs.Events;
using AgentJobs.Http;
using AgentJobs.Sessions;
using AgentJobs.Tests.Support;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AgentJobs.Tests;

/// <summary>
/// Issue 19's randomized driver: jobs and sessions on both protocols against the local agent service with injected
/// faults (429s, 500s, a 400, failed runs, dropped streams), with cancels, deadlines, approval decisions, turns,
/// cancel-turns and DELETEs sent at random moments, all from one seed. Every job and turn is checked against the stop
/// matrix's invariants. The seed is printed; <c>AGENTJOBS_DRIVER_SEED</c> replays a run and <c>AGENTJOBS_DRIVER_JOBS</c>
/// runs more (CI: 100).
/// </summary>
public class RandomStopDriverTests
{
    const double BoundSeconds = 30; // from the last stop sent to a terminal job

    [Fact]
    public async Task Random_stops_approvals_turns_and_faults_keep_every_invariant()
    {
        var seed = Environment.GetEnvironmentVariable("AGENTJOBS_DRIVER_SEED") is { Length: > 0 } s ? int.Parse(s, CultureInfo.InvariantCulture) : Random.Shared.Next();
        var count = Environment.GetEnvironmentVariable("AGENTJOBS_DRIVER_JOBS") is { Length: > 0 } n ? int.Parse(n, CultureInfo.InvariantCulture) : 100;
        TestContext.Current.SendDiagnosticMessage($"seed {seed}, {count} jobs and sessions (AGENTJOBS_DRIVER_SEED={seed} replays it)");
        var clock = Stopwatch.StartNew();

        var options = new LocalAgentServerOptions { ApiKey = LocalServiceJobs.Key };
        options.Simulation.QueuedMs = 20;
        options.Simulation.InProgressMs = 400;
        options.Simulation.CancellingMs = 20;
        await using var server = await LocalAgentServer.StartAsync(options, TestContext.Current.CancellationToken);
        using var classic = await LocalServiceJobs.StartWorkflowAsync(server, AgentProtocols.Classic);
        using var foundry = await LocalServiceJobs.StartWorkflowAsync(server, AgentProtocols.Foundry);
        var random = new Random(seed);
        foreach (var fault in Faults(random, count))
        {
            server.AddFault(fault);
        }

        // Each entity gets its own seeded generator, drawn up front, so a replay does the same whatever the scheduling.
        var plans = Enumerable.Range(0, count).Select(i => (Index: i, Seed: random.Next(), Host: random.Next(2) == 0 ? classic : foundry, Session: random.NextDouble() < 0.15)).ToList();
        var problems = await Task.WhenAll(plans.Select(p => p.Session
            ? SessionAsync(p.Host, p.Index, new Random(p.Seed))
            : JobAsync(p.Host, p.Index, new Random(p.Seed))));
        server.ClearFaults();

        // The threads the jobs left must each take a follow-up job (no run left active on them), on either protocol.
        var followUps = await Task.WhenAll(problems.Where(p => p.Problem is null && p.ThreadId is not null).Select(async p =>
        {
            var done = await LocalServiceJobs.RunAsync(p.Host!, new AgentJobRequest("Hello again", ThreadId: p.ThreadId, Polling: LocalServiceJobs.FastPolling));
            return done.Outcome == JobOutcome.Completed ? null : $"{p.Name} ({p.Detail ?? p.Outcome}): a follow-up job on {p.ThreadId} ended {done.Outcome}: {done.Failure?.Message}";
        }));

        var stats = await server.GetStatsAsync();
        var outcomes = problems.GroupBy(p => p.Outcome).Select(g => $"{g.Key}: {g.Count()}");
        TestContext.Current.SendDiagnosticMessage($"{count} in {clock.Elapsed.TotalSeconds:0.0} s; outcomes {string.Join(", ", outcomes)}; slowest stop {problems.Max(p => p.StopToEndSeconds):0.0} s");
        var broken = problems.Where(p => p.Problem is not null).Select(p => $"{p.Name}: {p.Problem}").Concat(followUps.OfType<string>()).ToList();
        Assert.True(broken.Count == 0, $"seed {seed}: {string.Join(Environment.NewLine, broken)}");
        Assert.Equal(0, stats.Agents);
    }

    sealed record Checked(string Name, string Outcome, string? Problem, string? ThreadId, IHost? Host, double StopToEndSeconds, string? Detail = null);

    /// <summary>Faults, each for a few calls, so most jobs meet one now and then but none is failed for good by chance alone.</summary>
    static IEnumerable<FaultRule> Faults(Random random, int count)
    {
        var scale = Math.Max(1, count / 25);
        yield return new FaultRule { Operation = "get-run", Mode = "429", Count = 3 * scale, RetryAfterMs = 100 };
        yield return new FaultRule { Operation = "get-response", Mode = "500", Count = 3 * scale };
        yield return new FaultRule { Operation = "create-run", Mode = "500", Count = 2 * scale };
        yield return new FaultRule { Operation = random.Next(2) == 0 ? "create-run" : "create-response", Mode = "run-fail", Count = scale };
        yield return new FaultRule { Operation = "create-thread", Mode = "400", Count = 1 };
        yield return new FaultRule { Operation = "submit-tool-outputs", Mode = "429", Count = scale, RetryAfterMs = 100 };
        yield return new FaultRule { Mode = "drop-stream", Count = scale };
    }

    static async Task<Checked> JobAsync(IHost host, int index, Random random)
    {
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var name = $"job {index}";
        var tools = random.Next(2) == 0;
        var approval = tools && random.Next(2) == 0;
        var request = new AgentJobRequest(
            tools ? "Please use calculate with {\"expression\": \"6 * 7\"}" : "Hello, tell me a joke",
            Tools: tools ? ["calculate"] : null,
            MaxDurationSeconds: random.Next(4) == 0 ? random.Next(1, 4) : 120,
            MaxToolRounds: tools && random.Next(6) == 0 ? 0 : null,
            Polling: random.Next(3) == 0 ? LocalServiceJobs.StreamFirst(30) : LocalServiceJobs.FastPolling,
            Approval: approval ? new ApprovalPolicy(["calculate"], random.Next(1, 4), random.Next(2) == 0 ? ApprovalTimeoutAction.Cancel : ApprovalTimeoutAction.Reject) : null);
        var id = await LocalServiceJobs.ScheduleAsync(host, request);
        var cancelAt = random.Next(3) == 0 ? TimeSpan.FromMilliseconds(random.Next(0, 2500)) : (TimeSpan?)null;
        var decideAfter = approval && random.Next(2) == 0 ? TimeSpan.FromMilliseconds(random.Next(0, 1500)) : (TimeSpan?)null;
        var approve = random.Next(2) == 0;
        var sinceStart = Stopwatch.StartNew();
        var lastStop = Stopwatch.StartNew();

        var actions = new List<Task>();
        if (cancelAt is { } at)
        {
            actions.Add(Task.Run(async () =>
            {
                await Task.Delay(at);
                await JobEvents.RaiseAsync(client, id, AgentJobOrchestrator.CancelEventName, "random cancel", CancellationToken.None);
                lastStop.Restart();
            }));
        }

        if (decideAfter is { } after)
        {
            actions.Add(Task.Run(async () =>
            {
                // Decide the held call when it shows, a random moment later (it may have timed out or been stopped by then).
                while (sinceStart.Elapsed < TimeSpan.FromSeconds(10))
                {
                    var metadata = await client.GetInstanceAsync(id, getInputsAndOutputs: true);
                    if (metadata is null || metadata.IsCompleted)
                    {
                        return;
                    }

                    if (JobApprovals.Pending(metadata.SerializedCustomStatus) is { Count: > 0 } held && held[0] is var pending)
                    {
                        await Task.Delay(after);
                        await JobApprovals.SendAsync(client, id, AgentJobOrchestrator.Name, new ApprovalDecision(pending.CallId, approve, "random"), CancellationToken.None);
                        return;
                    }

                    await Task.Delay(50);
                }
            }));
        }

        var done = await WaitAsync(client, id, 90);
        var stopToEnd = cancelAt is null ? 0 : lastStop.Elapsed.TotalSeconds;
        await Task.WhenAll(actions);
        var result = done?.ReadOutputAs<AgentJobResult>();
        if (done is null || result is null)
        {
            return new(name, "not terminal", $"not terminal in 90 s ({done?.RuntimeStatus})", null, host, stopToEnd);
        }

        var problem = await JobProblemAsync(host.Services.GetRequiredService<IJobHistorySource>(), id, result, stopToEnd);
        return new(name, result.Outcome.ToString(), problem, result.ThreadId, host, stopToEnd,
            $"{result.Outcome}, run {result.RunStatus}, stop {result.Stop?.Reason}{(result.Stop?.Honoured == false ? " (not honoured)" : "")}, {result.ToolCalls} tool call(s), failure {result.Failure?.Code}: {result.Failure?.Message}");
    }

    /// <summary>The invariants any job or turn keeps, whatever stopped it.</summary>
    static async Task<string?> JobProblemAsync(IJobHistorySource history, string id, AgentJobResult result, double stopToEndSeconds)
    {
        if (stopToEndSeconds > BoundSeconds)
        {
            return $"terminal {stopToEndSeconds:0.0} s after its cancel";
        }

        var expected = result.Stop switch
        {
            null => null,
            // A stop the run's own ending beat (it completed or failed by itself before the cancel took) is recorded
            // not honoured, and the run's end speaks (README: "the run's own ending speaks first"); then the run's
            // outcome is checked, not the stop's.
            { Reason: StopReason.CancelRequested or StopReason.DeadlinePassed or StopReason.ApprovalTimedOut, Honoured: false } => (JobOutcome?)null,
            { Reason: StopReason.CancelRequested or StopReason.ApprovalTimedOut } => JobOutcome.Cancelled,
            { Reason: StopReason.DeadlinePassed } => JobOutcome.TimedOut,
            { Reason: StopReason.BudgetExceeded } => JobOutcome.BudgetExceeded,
            { Reason: StopReason.Failed } => JobOutcome.Failed,
            _ => null,
        };
        if (expected is { } outcome && result.Outcome != outcome)
        {
            return $"outcome {result.Outcome} (run {result.RunStatus}) but stop {result.Stop}";
        }

        if (result.Stop is null && result.Outcome is JobOutcome.Cancelled or JobOutcome.TimedOut or JobOutcome.BudgetExceeded)
        {
            return $"outcome {result.Outcome} with no stop recorded";
        }

        if (!result.AgentDeleted && result.AgentId is not null)
        {
            return $"agent {result.AgentId} not deleted ({result.Failure?.Message})";
        }

        var (events, finished) = await new JobEventReader(history, id).ReadAsync(CancellationToken.None);
        var requested = events.Where(e => e.Type == JobEventTypes.ApprovalRequested).Select(e => (string?)e.Data["callId"]).Order().ToList();
        var decided = events.Where(e => e.Type == JobEventTypes.ApprovalDecided).Select(e => (string?)e.Data["callId"]).Order().ToList();
        return !finished || events.Count == 0 || events[^1].Type != JobEventTypes.Result ? "the event stream does not end with result"
            : !requested.SequenceEqual(decided) ? $"approvals requested [{string.Join(", ", requested)}] but decided [{string.Join(", ", decided)}]"
            : null;
    }

    /// <summary>A session with a few turns sent at random moments, a random cancel-turn, and a DELETE or its idle end.</summary>
    static async Task<Checked> SessionAsync(IHost host, int index, Random random)
    {
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var name = $"session {index}";
        var template = new AgentJobRequest("(session)", Tools: ["calculate"], Polling: LocalServiceJobs.FastPolling);
        var state = new SessionState(host.Services.GetRequiredService<AgentJobPolicy>().Settle(template), random.Next(1, 3), KeepThread: true);
        var session = await client.ScheduleNewOrchestrationInstanceAsync(AgentSessionOrchestrator.Name, state);
        var sent = new List<(string TurnId, TurnSent Sent)>();
        var turns = random.Next(1, 4);
        var stopToEnd = 0.0;
        for (var t = 0; t < turns; t++)
        {
            await Task.Delay(random.Next(0, 1500));
            var turn = SessionRequests.Turn(state, random.Next(2) == 0 ? "Hello" : "Please use calculate with {\"expression\": \"2 + 2\"}", 60);
            if ((await client.GetInstanceAsync(session))?.IsCompleted == true)
            {
                break; // ended for idleness: the API answers 409 before writing anything
            }

            sent.Add((turn.TurnId, await SessionRequests.SendTurnAsync(client, session, turn, CancellationToken.None)));
            if (random.Next(4) == 0)
            {
                await Task.Delay(random.Next(0, 800));
                if ((await client.GetInstanceAsync(session, getInputsAndOutputs: true))?.ReadCustomStatusAs<SessionProgress>()?.RunningTurn is { } running)
                {
                    await JobEvents.RaiseAsync(client, running.InstanceId, AgentJobOrchestrator.CancelEventName, "random cancel-turn", CancellationToken.None);
                }
            }
        }

        var deleted = random.Next(2) == 0;
        if (deleted)
        {
            await Task.Delay(random.Next(0, 1000));
            var instance = await client.GetInstanceAsync(session, getInputsAndOutputs: true);
            if (instance is { IsCompleted: false })
            {
                await SessionRequests.EndAsync(client, session, "random DELETE", instance.ReadCustomStatusAs<SessionProgress>()?.RunningTurn, CancellationToken.None);
            }
        }

        var clock = Stopwatch.StartNew();
        var done = await WaitAsync(client, session, 120);
        stopToEnd = deleted ? clock.Elapsed.TotalSeconds : 0;
        var ended = done?.ReadOutputAs<AgentSessionResult>();
        if (ended is null)
        {
            return new(name, "not ended", "the session did not end in 120 s", null, host, stopToEnd);
        }

        // Every turn sent was either run or refused; every turn that ran keeps the job's invariants.
        var ran = new Dictionary<string, (string Id, SessionTurnResult? Result)>(StringComparer.Ordinal);
        await foreach (var t in client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = session + ":turn:", FetchInputsAndOutputs = true }))
        {
            if (t.Name == AgentTurnOrchestrator.Name && t.ReadInputAs<SessionTurnInput>() is { TurnId: not null } input)
            {
                ran[input.TurnId] = (t.InstanceId, t.IsCompleted ? t.ReadOutputAs<SessionTurnResult>() : null);
            }
        }

        foreach (var (turnId, how) in sent)
        {
            var accepted = how != TurnSent.Refused;
            var dropped = accepted && !ran.ContainsKey(turnId) && !deleted; // DELETE drops queued turns (documented)
            if (dropped)
            {
                return new(name, "dropped", $"turn {turnId} was accepted ({how}) and never ran (ended {ended.Reason})", null, host, stopToEnd);
            }
        }

        foreach (var (turnId, (instanceId, result)) in ran)
        {
            if (result is null)
            {
                return new(name, "turn", $"turn {turnId} not terminal after the session ended", null, host, stopToEnd);
            }

            if (result.Outcome == JobOutcome.Cancelled && result.Stop is null)
            {
                return new(name, "turn", $"turn {turnId} cancelled with no stop recorded", null, host, stopToEnd);
            }

            var (events, finished) = await new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), instanceId).ReadAsync(CancellationToken.None);
            if (!finished || events.Count == 0 || events[^1].Type != JobEventTypes.Result)
            {
                return new(name, "turn", $"turn {turnId}'s event stream does not end with result", null, host, stopToEnd);
            }
        }

        return new(name, $"session {ended.Reason.Split(':')[0]}", ended.AgentDeleted ? null : "session agent not deleted", ended.ThreadId, host, stopToEnd);
    }

    static async Task<OrchestrationMetadata?> WaitAsync(DurableTaskClient client, string id, int seconds)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        try
        {
            return await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        }
        catch (OperationCanceledException)
        {
            return await client.GetInstanceAsync(id, getInputsAndOutputs: true);
        }
    }
}
