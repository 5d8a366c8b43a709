using System.Diagnostics;
using AgentJobs.AgentService;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Events;
using AgentJobs.Sessions;
using AgentJobs.Tools.Mcp;
using AgentJobs.Tests.Support;
using AgentJobs.Tools;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Tests;

/// <summary>Issue 19's crossings: a stop arriving in a phase where another feature is busy.</summary>
public class StopCrossingTests
{
    static ToolCallRequest Call(string id, string name, string arguments = "{}") => new(id, name, arguments);

    // Crossing 1: a cancel accepted while the start is in flight but before its run exists reaches the run as soon as
    // it does; before, the next look was a durable timer a second later, and a run shorter than that completed first.
    [Fact]
    public async Task A_cancel_that_arrives_before_the_started_run_exists_is_honoured_even_when_the_run_is_short()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await WorkflowHost.StartAsync();
        host.Service.BeforeStartRun = () => gate.Task;
        host.Service.StreamFor = TimeSpan.FromMilliseconds(500); // the run completes 0.5 s after it is created
        var id = await host.StartJobAsync(WorkflowHost.Job() with { Polling = WorkflowHost.FastPolling with { StreamWindowSeconds = 60 } });
        await WorkflowHost.WaitUntilAsync(() => Task.FromResult(host.Service.Count("StartRun") == 1), "the start in flight");

        await host.Client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "too early", TestContext.Current.CancellationToken);
        await WorkflowHost.WaitUntilAsync(() => Task.FromResult(host.Service.Count("CancelStartedRun") >= 1), "a first look for the run");
        gate.SetResult(); // now the service creates the run
        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.Equal(StopReason.CancelRequested, result.Stop!.Reason);
        Assert.True(result.Stop.Honoured);
        Assert.Equal("cancelled", result.RunStatus);
        host.AssertAgentCleanedUp(result);
    }

    // Crossing 2: a stop never waits for a tool that is still running (Durable ends an instance only when no activity is open).
    [Theory]
    [InlineData("cancel")]
    [InlineData("deadline")]
    public async Task A_job_stopped_while_a_tool_hangs_is_terminal_without_waiting_for_the_tool(string stop)
    {
        var release = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await WorkflowHost.StartAsync(services =>
            services.AddAgentTool("hang", "Never returns in time.", () => release.Task));
        host.Service.Script = _ => [ScriptStep.Tools(Call("call_hang", "hang")), ScriptStep.Of("completed")];
        try
        {
            var id = await host.StartJobAsync(WorkflowHost.Job() with { Tools = ["hang"], MaxDurationSeconds = stop == "deadline" ? 3 : 600 });
            await WorkflowHost.WaitUntilAsync(async () => (await host.CustomStatusAsync<JobProgress>(id))?.Phase == JobPhase.RunningTools, "the tool round");

            var clock = Stopwatch.StartNew();
            if (stop == "cancel")
            {
                await host.Client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "stop", TestContext.Current.CancellationToken);
            }

            // The tool hangs for the whole test (60 s); the job must be terminal long before that.
            var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id, timeoutSeconds: 30));

            Assert.Equal(stop == "cancel" ? JobOutcome.Cancelled : JobOutcome.TimedOut, result.Outcome);
            Assert.False(release.Task.IsCompleted);
            TestContext.Current.SendDiagnosticMessage($"{stop}: terminal {clock.Elapsed.TotalSeconds:F1} s after the stop was sent");
            host.AssertAgentCleanedUp(result);
        }
        finally
        {
            release.TrySetResult("too late");
        }
    }

    // Crossing 4: a call left awaiting approval when the job stops is closed in the event stream, before the result.
    [Theory]
    [InlineData("cancel")]
    [InlineData("deadline")]
    public async Task Every_approval_requested_is_closed_by_a_decision_in_the_event_stream_when_the_job_stops(string stop)
    {
        await using var host = await WorkflowHost.StartAsync(services => services.AddAgentTool("shout", "Shouts.", (string text) => text.ToUpperInvariant()));
        host.Service.Script = _ => [ScriptStep.Tools(Call("call_1", "shout", """{"text":"a"}""")), ScriptStep.Of("completed")];
        var id = await host.StartJobAsync(WorkflowHost.Job("Shout") with
        {
            Tools = ["shout"],
            Approval = new ApprovalPolicy(["shout"], TimeoutSeconds: 600),
            MaxDurationSeconds = stop == "deadline" ? 3 : 600,
        });
        await WorkflowHost.WaitUntilAsync(async () => (await host.CustomStatusAsync<JobProgress>(id))?.Phase == JobPhase.AwaitingApproval, "the approval wait");
        if (stop == "cancel")
        {
            await host.Client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "changed my mind", TestContext.Current.CancellationToken);
        }

        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));
        var (events, finished) = await new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id).ReadAsync(TestContext.Current.CancellationToken);

        Assert.True(finished);
        Assert.Equal(stop == "cancel" ? JobOutcome.Cancelled : JobOutcome.TimedOut, result.Outcome);
        Assert.False(Assert.Single(result.Approvals!).Approved);
        AssertApprovalsClosed(events);
        host.AssertAgentCleanedUp(result);
    }

    // Crossing 4: a decision taken by the timeout is dated when the job took the timeout in, not when it asked.
    [Fact]
    public async Task A_timed_out_decision_is_dated_when_it_was_taken_not_when_the_approval_was_requested()
    {
        await using var host = await WorkflowHost.StartAsync(services => services.AddAgentTool("shout", "Shouts.", (string text) => text.ToUpperInvariant()));
        host.Service.Script = _ => [ScriptStep.Tools(Call("call_1", "shout", """{"text":"a"}""")), ScriptStep.Of("completed")];
        var id = await host.StartJobAsync(WorkflowHost.Job("Shout") with { Tools = ["shout"], Approval = new ApprovalPolicy(["shout"], TimeoutSeconds: 2) });

        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));
        var (events, _) = await new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id).ReadAsync(TestContext.Current.CancellationToken);

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        var requested = Assert.Single(events, e => e.Type == JobEventTypes.ApprovalRequested);
        var decided = Assert.Single(events, e => e.Type == JobEventTypes.ApprovalDecided);
        Assert.Equal("timeout", (string?)decided.Data["decidedBy"]);
        static DateTime At(JobEvent e) => DateTime.Parse((string)e.Data["at"]!, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind);
        // The 2 s timer runs from the orchestration time of the episode that asked, which can be a moment before the
        // requested event's own time; a decision dated at the request would be ~0 s after it.
        Assert.True((At(decided) - At(requested)).TotalSeconds >= 1.0, $"requested {At(requested):O}, decided {At(decided):O}");
        AssertApprovalsClosed(events);
    }

    // Crossing 5: server names are case-insensitive; an approval policy naming the server in another case still holds its calls.
    [Theory]
    [InlineData("M/echo")]
    [InlineData("M/*")]
    public async Task An_approval_policy_holds_an_mcp_tool_whatever_the_case_of_its_server_name(string policy)
    {
        await using var mcp = await TestMcpServer.StartAsync();
        await using var server = await LocalServiceJobs.StartServerAsync();
        using var host = await LocalServiceJobs.StartWorkflowAsync(server, AgentJobs.Configuration.AgentProtocols.Classic, configure: services =>
            services.AddSingleton(new McpToolServers([new McpServerSettings("m", mcp.Url, new Dictionary<string, string>(), null, TimeSpan.FromSeconds(30))])));

        var result = await LocalServiceJobs.RunAsync(host, new AgentJobRequest(
            "Please use m__echo with {\"text\": \"hi\"}", Tools: ["M/echo"], Polling: LocalServiceJobs.FastPolling,
            Approval: new ApprovalPolicy([policy], TimeoutSeconds: 1)));

        var approval = Assert.Single(result.Approvals!);
        Assert.Equal("timeout", approval.DecidedBy);
        Assert.False(approval.Approved);
        Assert.DoesNotContain(mcp.Calls, c => c.Tool == "echo"); // held, then not approved: never ran
        await LocalServiceJobs.AssertNoAgentLeftAsync(server, result);
    }

    // Crossing 3: the token budget is kept inside one run's tool loop on both protocols. The model asks for a tool in
    // every round and reports 150 tokens a round; the budget is 200, so the job stops after the second round.
    [Theory]
    [MemberData(nameof(LocalServiceJobs.Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task The_token_budget_stops_an_agent_that_calls_tools_for_ever_within_its_run(string protocol)
    {
        await using var model = await ToolsForeverModel.StartAsync();
        var options = new LocalAgentServerOptions { ApiKey = LocalServiceJobs.Key };
        options.Simulation.QueuedMs = 0;
        options.Simulation.InProgressMs = 0;
        options.Models["loop"] = new ModelEndpointOptions { Kind = ModelKinds.OpenAICompatible, Endpoint = model.Endpoint };
        await using var server = await LocalAgentServer.StartAsync(options, TestContext.Current.CancellationToken);
        using var host = await LocalServiceJobs.StartWorkflowAsync(server, protocol);

        var result = await LocalServiceJobs.RunAsync(host, new AgentJobRequest(
            "Count for ever", Model: "loop", Tools: ["calculate"], Polling: LocalServiceJobs.FastPolling, MaxTotalTokens: 200, MaxToolRounds: 16));

        Assert.Equal(JobOutcome.BudgetExceeded, result.Outcome);
        Assert.Contains("maxTotalTokens", result.Failure!.Message, StringComparison.Ordinal);
        Assert.InRange(result.Usage!.TotalTokens, 201, 450); // stopped within a round of the budget, not at round 16
        Assert.InRange(result.ToolCalls, 1, 2);
        await LocalServiceJobs.AssertNoAgentLeftAsync(server, result);
    }

    /// <summary>An OpenAI-compatible chat endpoint whose model calls <c>calculate</c> in every answer, 150 tokens each.</summary>
    sealed class ToolsForeverModel(WebApplication app, Uri endpoint) : IAsyncDisposable
    {
        public Uri Endpoint { get; } = endpoint;

        public static async Task<ToolsForeverModel> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var calls = 0;
            app.MapPost("/v1/chat/completions", () =>
            {
                var n = Interlocked.Increment(ref calls);
                var call = new { id = $"call_{n}", type = "function", function = new { name = "calculate", arguments = """{"expression":"1+1"}""" } };
                return Results.Json(new
                {
                    id = $"chatcmpl-{n}", @object = "chat.completion", created = 1, model = "loop",
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = (string?)null, tool_calls = new[] { call } }, finish_reason = "tool_calls" } },
                    usage = new { prompt_tokens = 100, completion_tokens = 50, total_tokens = 150 },
                });
            });
            await app.StartAsync();
            return new ToolsForeverModel(app, new Uri(new Uri(app.Urls.First()), "v1"));
        }

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }

    // Crossing 6: a turn sent while an idle session is ending is either run or refused, never accepted and dropped.
    // The session's agent delete is held, so "ending" lasts until the turn has been sent.
    [Fact]
    public async Task A_turn_sent_while_an_idle_session_is_ending_is_refused_not_dropped()
    {
        var deleting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await WorkflowHost.StartAsync();
        host.Service.BeforeDeleteAgent = () => deleting.Task;
        var session = await StartSessionAsync(host, idleTimeoutSeconds: 2);
        await WorkflowHost.WaitUntilAsync(async () => (await host.CustomStatusAsync<SessionProgress>(session))?.Status == "ending", "the session to end for idleness");

        var turn = SessionRequests.Turn(SessionOf(host), "Hello?", maxDurationSeconds: 60);
        var send = SessionRequests.SendTurnAsync(host.Client, session, turn, TestContext.Current.CancellationToken);
        await Task.WhenAny(send, Task.Delay(500, TestContext.Current.CancellationToken));
        deleting.SetResult();
        var sent = await send;
        var ended = (await host.WaitForEndAsync(session)).ReadOutputAs<AgentSessionResult>()!;

        Assert.Equal("idle", ended.Reason);
        Assert.True(await RanOrWithdrawnAsync(host, session, turn.TurnId), $"turn {turn.TurnId} was accepted ({sent}) and then dropped");
        Assert.Equal("Refused", sent.ToString());
        Assert.Equal(0, ended.Turns);
        Assert.True(ended.AgentDeleted);
        Assert.Empty(host.Service.LiveAgents);
    }

    // Crossing 6, the narrow case: a turn written while the session's idle timer fires and it reads its mailbox a last
    // time. Sessions with a 1 s idle timeout each get a turn at a seeded random moment around their expiry; every turn
    // must either run (the session goes on) or be refused.
    [Fact]
    public async Task Turns_sent_around_an_idle_sessions_expiry_are_each_run_or_refused()
    {
        var seed = Environment.GetEnvironmentVariable("AGENTJOBS_CROSSING6_SEED") is { } s ? int.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : Random.Shared.Next();
        TestContext.Current.SendDiagnosticMessage($"seed {seed} (AGENTJOBS_CROSSING6_SEED replays it)");
        var random = new Random(seed);
        await using var host = await WorkflowHost.StartAsync();
        var offsets = Enumerable.Range(0, 16).Select(_ => random.Next(-400, 400)).ToList();
        var outcomes = await Task.WhenAll(offsets.Select(async offset =>
        {
            var session = await StartSessionAsync(host, idleTimeoutSeconds: 1);
            SessionProgress? idle = null;
            await WorkflowHost.WaitUntilAsync(async () => (idle = await host.CustomStatusAsync<SessionProgress>(session))?.Status == "idle", "an idle session");
            var wait = idle!.IdleExpiresAt!.Value.AddMilliseconds(offset) - DateTime.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, TestContext.Current.CancellationToken);
            }

            var turn = SessionRequests.Turn(SessionOf(host), "Hello?", maxDurationSeconds: 60);
            var sent = await SessionRequests.SendTurnAsync(host.Client, session, turn, TestContext.Current.CancellationToken);
            var ended = (await host.WaitForEndAsync(session, timeoutSeconds: 60)).ReadOutputAs<AgentSessionResult>()!;
            Assert.True(ended.AgentDeleted);
            return (offset, sent: sent.ToString(), ranOrWithdrawn: await RanOrWithdrawnAsync(host, session, turn.TurnId), turns: ended.Turns);
        }));

        TestContext.Current.SendDiagnosticMessage(string.Join("; ", outcomes.Select(o => $"{o.offset} ms: {o.sent}, {o.turns} turn(s)")));
        Assert.All(outcomes, o => Assert.True(o.ranOrWithdrawn, $"a turn sent {o.offset} ms from the expiry was accepted ({o.sent}) and dropped (seed {seed})"));
        Assert.All(outcomes, o => Assert.Equal(o.sent == "Refused" ? 0 : 1, o.turns));
        Assert.Empty(host.Service.LiveAgents);
    }

    // Found by the random driver: a turn sent while the session is still starting, whose start then fails, was accepted
    // and dropped (the session ends without reading its mailbox). The sender now waits for the start to be over.
    [Fact]
    public async Task A_turn_sent_while_a_session_starts_is_refused_when_the_start_fails()
    {
        var creating = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var refuse = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Before = async (operation, _) =>
        {
            if (operation == "CreateThread")
            {
                creating.TrySetResult();
                await refuse.Task;
                throw new AgentServiceException("thread refused", 400);
            }
        };
        var session = await StartSessionAsync(host, idleTimeoutSeconds: 300);
        await creating.Task.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        var turn = SessionRequests.Turn(SessionOf(host), "Hello?", maxDurationSeconds: 60);
        var send = SessionRequests.SendTurnAsync(host.Client, session, turn, TestContext.Current.CancellationToken);
        await Task.WhenAny(send, Task.Delay(300, TestContext.Current.CancellationToken));
        refuse.SetResult();
        var sent = await send;
        var ended = (await host.WaitForEndAsync(session)).ReadOutputAs<AgentSessionResult>()!;

        Assert.Equal("failed", ended.Reason);
        Assert.True(await RanOrWithdrawnAsync(host, session, turn.TurnId), $"turn {turn.TurnId} was accepted ({sent}) and then dropped");
        Assert.Equal("Refused", sent.ToString());
        Assert.Empty(host.Service.LiveAgents);
    }

    static SessionState SessionOf(WorkflowHost host) =>
        new(host.Services.GetRequiredService<AgentJobs.Application.AgentJobPolicy>().Settle(WorkflowHost.Job("(session)")), 1, KeepThread: false);

    static async Task<string> StartSessionAsync(WorkflowHost host, int idleTimeoutSeconds) =>
        await host.Client.ScheduleNewOrchestrationInstanceAsync(
            AgentSessionOrchestrator.Name, SessionOf(host) with { IdleTimeoutSeconds = idleTimeoutSeconds }, TestContext.Current.CancellationToken);

    /// <summary>True when a turn ran from the request, or the request was withdrawn (the sender answered it refused).</summary>
    static async Task<bool> RanOrWithdrawnAsync(WorkflowHost host, string session, string turnId)
    {
        await foreach (var t in host.Client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = session + ":turn:", FetchInputsAndOutputs = true }))
        {
            if (t.ReadInputAs<SessionTurnInput>()?.TurnId == turnId)
            {
                return t.RuntimeStatus == OrchestrationRuntimeStatus.Completed;
            }
        }

        return await host.Client.GetInstanceAsync(InstanceIds.MailboxRequest(session, turnId), TestContext.Current.CancellationToken) is null;
    }

    static void AssertApprovalsClosed(IReadOnlyList<JobEvent> events)
    {
        var requested = events.Where(e => e.Type == JobEventTypes.ApprovalRequested).Select(e => (string?)e.Data["callId"]).ToList();
        var decided = events.Where(e => e.Type == JobEventTypes.ApprovalDecided).Select(e => (string?)e.Data["callId"]).ToList();
        Assert.NotEmpty(requested);
        Assert.Equal(requested.Order(), decided.Order());
        Assert.Equal(JobEventTypes.Result, events[^1].Type);
    }
}
