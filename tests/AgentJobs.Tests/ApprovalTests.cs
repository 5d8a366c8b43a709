using System.Text.Json;
using AgentJobs.AgentService;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Events;
using AgentJobs.Tests.Support;
using AgentJobs.Tools;
using AgentJobs.Workflow;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tests;

/// <summary>
/// Human approval of tool calls on the real Durable Task engine: held calls wait for decisions, free calls of the
/// same round run at once, rejections and timeouts reach the model as error outputs, and cancel, the deadline and
/// <c>onTimeout: "cancel"</c> still end the job with its agent deleted.
/// </summary>
public class ApprovalTests
{
    static ToolCallRequest Call(string id, string name, string arguments = """{"text":"x"}""") => new(id, name, arguments);

    static Task<WorkflowHost> StartAsync(Action<int>? onWhisper = null)
    {
        var whispers = 0;
        return WorkflowHost.StartAsync(services => services
            .AddAgentTool("shout", "Shouts.", (string text) => text.ToUpperInvariant())
            .AddAgentTool("whisper", "Whispers.", (string text) =>
            {
                onWhisper?.Invoke(Interlocked.Increment(ref whispers));
                return text.ToLowerInvariant();
            }));
    }

    static AgentJobRequest Held(int timeoutSeconds = 300, ApprovalTimeoutAction onTimeout = ApprovalTimeoutAction.Reject) =>
        WorkflowHost.Job("Shout and whisper") with
        {
            Tools = ["shout", "whisper"],
            Approval = new ApprovalPolicy(["shout"], timeoutSeconds, onTimeout),
        };

    static async Task<JobProgress> WaitForPendingAsync(WorkflowHost host, string id, int count)
    {
        JobProgress? progress = null;
        await WorkflowHost.WaitUntilAsync(
            async () => (progress = await host.CustomStatusAsync<JobProgress>(id)) is { Phase: JobPhase.AwaitingApproval, PendingApprovals: { } p } && p.Count == count,
            $"{count} call(s) awaiting approval");
        return progress!;
    }

    static Task<JobApprovals.Outcome> DecideAsync(WorkflowHost host, string id, string callId, bool approved, string? reason = null, string? by = "alice") =>
        JobApprovals.SendAsync(host.Client, id, AgentJobOrchestrator.Name, new ApprovalDecision(callId, approved, reason, by), TestContext.Current.CancellationToken);

    [Fact]
    public async Task Held_calls_wait_for_their_decisions_while_free_calls_run_and_every_output_goes_back_in_one_submit()
    {
        var whispered = 0;
        await using var host = await StartAsync(n => whispered = n);
        host.Service.Script = _ =>
        [
            ScriptStep.Tools(Call("call_1", "shout"), Call("call_2", "whisper"), Call("call_3", "shout", """{"text":"y"}""")),
            ScriptStep.Of("completed"),
        ];
        host.Service.StepToolCalls = [new JobToolCall("call_1", "shout", "{}", "X"), new JobToolCall("call_2", "whisper", "{}", "x")];

        var id = await host.StartJobAsync(Held());
        var progress = await WaitForPendingAsync(host, id, 2);

        // The status shows each held call and when the wait ends; the free call has run meanwhile.
        Assert.Equal(["call_1", "call_3"], progress.PendingApprovals!.Select(p => p.CallId));
        Assert.All(progress.PendingApprovals!, p => Assert.Equal("shout", p.Tool));
        Assert.Equal("""{"text":"y"}""", progress.PendingApprovals![1].Arguments);
        Assert.InRange((progress.PendingApprovals![0].ExpiresAt - DateTime.UtcNow).TotalSeconds, 250, 301);
        await WorkflowHost.WaitUntilAsync(() => Task.FromResult(Volatile.Read(ref whispered) == 1), "the free call to run");
        Assert.Equal(0, host.Service.Count("SubmitToolOutputs"));

        Assert.Equal(JobApprovals.Outcome.Sent, await DecideAsync(host, id, "call_1", approved: true));
        await WorkflowHost.WaitUntilAsync(
            async () => (await host.CustomStatusAsync<JobProgress>(id))?.DecidedCallIds?.Contains("call_1") == true, "call_1 to be taken in");
        Assert.Equal(JobApprovals.Outcome.AlreadyDecided, await DecideAsync(host, id, "call_1", approved: false));
        Assert.Equal(JobApprovals.Outcome.UnknownCall, await DecideAsync(host, id, "call_9", approved: true));
        Assert.Equal(JobApprovals.Outcome.Sent, await DecideAsync(host, id, "call_3", approved: false, "too loud", by: null));

        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));
        Assert.Equal(JobOutcome.Completed, result.Outcome);

        // One submission, outputs in the order asked: the approved call ran, the rejected one tells the model why.
        var outputs = Assert.Single(Assert.Single(host.Service.Submissions.Values));
        Assert.Equal(["call_1", "call_2", "call_3"], outputs.Select(o => o.ToolCallId));
        Assert.Contains("X", outputs[0].Output, StringComparison.Ordinal);
        Assert.False(outputs[0].IsError);
        Assert.True(outputs[2].IsError);
        using (var rejection = JsonDocument.Parse(outputs[2].Output))
        {
            Assert.Equal("rejected", rejection.RootElement.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("rejected by the user: too loud", rejection.RootElement.GetProperty("error").GetProperty("message").GetString());
        }

        Assert.Equal(2, result.ToolCalls); // the tools that ran
        Assert.Collection(result.Approvals!,
            a => Assert.Equal(("call_1", "shout", true, "alice"), (a.CallId, a.Tool, a.Approved, a.DecidedBy)),
            a => Assert.Equal(("call_3", false, "too loud", (string?)null), (a.CallId, a.Approved, a.Reason, a.DecidedBy)));
        var stepCalls = result.RunSteps.SelectMany(s => s.ToolCalls).ToList();
        Assert.True(stepCalls.Single(c => c.Id == "call_1").Approval!.Approved);
        Assert.Null(stepCalls.Single(c => c.Id == "call_2").Approval);
        Assert.Equal(JobApprovals.Outcome.Finished, await DecideAsync(host, id, "call_3", approved: true));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task An_undecided_call_is_rejected_at_the_timeout_and_a_later_round_still_takes_its_decision()
    {
        await using var host = await StartAsync();
        host.Service.Script = _ =>
        [
            ScriptStep.Tools(Call("call_1", "shout")),
            ScriptStep.Tools(Call("call_2", "shout")),
            ScriptStep.Of("completed"),
        ];

        // 3 s: round 2 has the same timeout, and the decision below must reach it in time on a slow machine.
        var id = await host.StartJobAsync(Held(timeoutSeconds: 3));

        // Round 1 times out. Round 2's decision must reach round 2: the decision waiter round 1 left is reused.
        await WaitForPendingAsync(host, id, 1);
        await WorkflowHost.WaitUntilAsync(
            async () => (await host.CustomStatusAsync<JobProgress>(id))?.PendingApprovals?.SingleOrDefault()?.CallId == "call_2", "round 2 to wait");
        Assert.Equal(JobApprovals.Outcome.Sent, await DecideAsync(host, id, "call_2", approved: true));

        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id));
        Assert.Equal(JobOutcome.Completed, result.Outcome);
        var timedOut = result.Approvals![0];
        Assert.Equal(("call_1", false, ToolApprovals.TimeoutDecider, "approval timed out after 3 s"), (timedOut.CallId, timedOut.Approved, timedOut.DecidedBy, timedOut.Reason));
        var firstRound = host.Service.Submissions.Values.Single()[0];
        Assert.Contains("not_approved", Assert.Single(firstRound).Output, StringComparison.Ordinal);
        Assert.True(result.Approvals[1].Approved);

        // The event stream tells the same story.
        var (events, finished) = await new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id).ReadAsync(TestContext.Current.CancellationToken);
        Assert.True(finished);
        var approvals = events.Where(e => e.Type is JobEventTypes.ApprovalRequested or JobEventTypes.ApprovalDecided)
            .Select(e => $"{e.Type} {e.Data["callId"]} {e.Data["approved"]} {e.Data["decidedBy"]}").ToList();
        Assert.Equal(
        [
            "approvalRequested call_1  ",
            "approvalDecided call_1 false timeout",
            "approvalRequested call_2  ",
            "approvalDecided call_2 true alice",
        ], approvals);
        Assert.Contains(events, e => e.Type == JobEventTypes.Phase && (string?)e.Data["phase"] == nameof(JobPhase.AwaitingApproval));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_timeout_under_the_cancel_policy_cancels_the_job_and_deletes_the_agent()
    {
        await using var host = await StartAsync();
        host.Service.Script = _ => [ScriptStep.Tools(Call("call_1", "shout")), ScriptStep.Of("completed")];

        var result = await host.RunJobAsync(Held(timeoutSeconds: 1, ApprovalTimeoutAction.Cancel));

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.Equal("approval_timed_out", result.Failure!.Code);
        Assert.Contains("shout (call_1)", result.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(StopReason.ApprovalTimedOut, result.Stop!.Reason);
        Assert.Equal(ToolApprovals.TimeoutDecider, Assert.Single(result.Approvals!).DecidedBy);
        Assert.Equal(1, host.Service.Count("CancelRun"));
        Assert.Equal(0, host.Service.Count("SubmitToolOutputs"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task A_cancel_while_approval_is_pending_ends_the_job_cancelled_at_once()
    {
        await using var host = await StartAsync();
        host.Service.Script = _ => [ScriptStep.Tools(Call("call_1", "shout")), ScriptStep.Of("completed")];

        var id = await host.StartJobAsync(Held());
        await WaitForPendingAsync(host, id, 1);
        await JobEvents.RaiseAsync(host.Client, id, AgentJobOrchestrator.CancelEventName, "not today", TestContext.Current.CancellationToken);

        var result = WorkflowHost.ResultOf(await host.WaitForEndAsync(id, timeoutSeconds: 30));
        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.Equal("not today", result.Stop!.Message);
        var undecided = Assert.Single(result.Approvals!);
        Assert.Equal(("call_1", false, (string?)null), (undecided.CallId, undecided.Approved, undecided.DecidedBy));
        Assert.Contains("not today", undecided.Reason, StringComparison.Ordinal);
        Assert.Equal(0, host.Service.Count("SubmitToolOutputs"));
        host.AssertAgentCleanedUp(result);
    }

    [Fact]
    public async Task The_deadline_still_ends_a_job_whose_approval_is_pending()
    {
        await using var host = await StartAsync();
        host.Service.Script = _ => [ScriptStep.Tools(Call("call_1", "shout")), ScriptStep.Of("completed")];

        var result = await host.RunJobAsync(Held() with { MaxDurationSeconds = 2 });

        Assert.Equal(JobOutcome.TimedOut, result.Outcome);
        Assert.Equal(StopReason.DeadlinePassed, result.Stop!.Reason);
        host.AssertAgentCleanedUp(result);
    }

    [Theory]
    [MemberData(nameof(LocalServiceJobs.Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Against_the_agent_service_an_approved_call_runs_and_a_rejected_one_is_answered_by_the_model(string protocol)
    {
        await using var server = await LocalServiceJobs.StartServerAsync();
        using var host = await LocalServiceJobs.StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<Microsoft.DurableTask.Client.DurableTaskClient>();
        var request = new AgentJobRequest(
            "Please use calculate with {\"expression\": \"6 * 7\"}", Tools: ["calculate"], Polling: LocalServiceJobs.FastPolling,
            Approval: new ApprovalPolicy([ApprovalPolicy.AllTools]));

        async Task<AgentJobResult> DecideAsync(bool approved, string? reason, string? threadId = null)
        {
            var id = await LocalServiceJobs.ScheduleAsync(host, request with { ThreadId = threadId });
            await LocalServiceJobs.WaitForPhaseAsync(client, id, JobPhase.AwaitingApproval);
            var pending = Assert.Single(JobApprovals.Pending((await client.GetInstanceAsync(id, getInputsAndOutputs: true, TestContext.Current.CancellationToken))!.SerializedCustomStatus));
            Assert.Equal("calculate", pending.Tool);
            Assert.Equal(JobApprovals.Outcome.Sent, await JobApprovals.SendAsync(
                client, id, AgentJobOrchestrator.Name, new ApprovalDecision(pending.CallId, approved, reason, "bob"), TestContext.Current.CancellationToken));
            return await LocalServiceJobs.CompletionAsync(client, id);
        }

        var approved = await DecideAsync(approved: true, reason: null);
        Assert.Equal(JobOutcome.Completed, approved.Outcome);
        Assert.Contains("6 * 7 = 42", approved.Reply, StringComparison.Ordinal);
        Assert.True(Assert.Single(approved.Approvals!).Approved);
        Assert.Equal(1, approved.ToolCalls);

        var rejected = await DecideAsync(approved: false, reason: "no maths today");
        Assert.Equal(JobOutcome.Completed, rejected.Outcome);
        Assert.Contains("rejected by the user: no maths today", rejected.Reply, StringComparison.Ordinal);
        Assert.Equal(0, rejected.ToolCalls);
        var rejection = Assert.Single(rejected.RunSteps.SelectMany(s => s.ToolCalls), c => c.Approval is not null);
        Assert.Equal(("bob", false), (rejection.Approval!.DecidedBy, rejection.Approval.Approved));
        await LocalServiceJobs.AssertNoAgentLeftAsync(server, rejected);
    }

    [Theory]
    [MemberData(nameof(LocalServiceJobs.Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_job_cancelled_while_awaiting_approval_leaves_a_thread_the_next_job_can_continue(string protocol)
    {
        await using var server = await LocalServiceJobs.StartServerAsync();
        using var host = await LocalServiceJobs.StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<Microsoft.DurableTask.Client.DurableTaskClient>();
        var id = await LocalServiceJobs.ScheduleAsync(host, new AgentJobRequest(
            "Please use calculate with {\"expression\": \"6 * 7\"}", Tools: ["calculate"], Polling: LocalServiceJobs.FastPolling,
            Approval: new ApprovalPolicy(["calculate"])));
        await LocalServiceJobs.WaitForPhaseAsync(client, id, JobPhase.AwaitingApproval);
        await JobEvents.RaiseAsync(client, id, AgentJobOrchestrator.CancelEventName, "stop", TestContext.Current.CancellationToken);

        var cancelled = await LocalServiceJobs.CompletionAsync(client, id);
        Assert.Equal(JobOutcome.Cancelled, cancelled.Outcome);
        await LocalServiceJobs.AssertNoAgentLeftAsync(server, cancelled);

        var next = await LocalServiceJobs.RunAsync(host, new AgentJobRequest("Hello again", ThreadId: cancelled.ThreadId, Polling: LocalServiceJobs.FastPolling));
        Assert.Equal(JobOutcome.Completed, next.Outcome);
    }
}

/// <summary>Which calls an approval policy holds, by the names the agent service uses (MCP tools mapped as the registry maps them).</summary>
public class ApprovalPolicyMatchingTests
{
    [Theory]
    [InlineData("calculate", "calculate", true)]
    [InlineData("calculate", "get_utc_now", false)]
    [InlineData("*", "get_utc_now", true)]
    [InlineData("jobs/*", "jobs__get_agent_job", true)]
    [InlineData("jobs/*", "other__get_agent_job", false)]
    [InlineData("jobs/get_agent_job", "jobs__get_agent_job", true)]
    [InlineData("jobs/get_agent_job", "jobs__start_agent_job", false)]
    public void A_policy_holds_built_in_and_mcp_tools_by_their_request_names(string held, string functionName, bool holds) =>
        Assert.Equal(holds, ToolApprovals.Holds(new ApprovalPolicy([held]), functionName));

    [Fact]
    public void No_policy_holds_nothing() => Assert.False(ToolApprovals.Holds(null, "calculate"));
}
