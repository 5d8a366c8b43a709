using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Sessions;
using AgentJobs.Tests.Support;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AgentJobs.Tests;

/// <summary>
/// Agent sessions on the real Durable Task engine: turns run in order on one agent and thread (queued when they
/// arrive together), each turn is the job's own turn, idle sessions and ended sessions delete their agent, and a
/// session's history stays bounded however many turns it has.
/// </summary>
public class SessionTests
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    static async Task<string> StartSessionAsync(IServiceProvider services, AgentJobRequest template, int idleTimeoutSeconds = 300)
    {
        var state = new SessionState(services.GetRequiredService<AgentJobPolicy>().Settle(template), idleTimeoutSeconds, KeepThread: false, ThreadId: template.ThreadId);
        return await services.GetRequiredService<DurableTaskClient>().ScheduleNewOrchestrationInstanceAsync(AgentSessionOrchestrator.Name, state, Token);
    }

    static async Task SendAsync(DurableTaskClient client, string session, AgentJobRequest template, string prompt, int maxDurationSeconds = 60)
    {
        // The unsettled template as the turn ran it before turns took a spec: the turn's grace fell back to the default
        // and an unset tool-round budget never stopped it.
        var spec = AgentJobSpec.FromSettled(template with { Prompt = prompt, MaxDurationSeconds = maxDurationSeconds }) with
        {
            CancelGraceSeconds = template.CancelGraceSeconds ?? AgentJobDefaults.CancelGraceSeconds,
            MaxToolRounds = template.MaxToolRounds ?? int.MaxValue,
        };
        var turn = new SessionTurnEvent(Guid.NewGuid().ToString("N"), spec);
        await SessionRequests.SendTurnAsync(client, session, turn, Token);
    }

    static async Task<SessionTurnResult> TurnAsync(DurableTaskClient client, string session, int number, int startWithinSeconds = 60)
    {
        var id = InstanceIds.Turn(session, number);
        await WorkflowHost.WaitUntilAsync(async () => await client.GetInstanceAsync(id, Token) is not null, $"turn {number} to start", startWithinSeconds);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<SessionTurnResult>()!;
    }

    static async Task<AgentSessionResult> EndAsync(DurableTaskClient client, string session, string? reason = "done")
    {
        if (reason is not null)
        {
            var running = (await client.GetInstanceAsync(session, getInputsAndOutputs: true, Token))?.ReadCustomStatusAs<SessionProgress>()?.RunningTurn;
            await SessionRequests.EndAsync(client, session, reason, running, Token);
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Token);
        cts.CancelAfter(TimeSpan.FromSeconds(60));
        var done = await client.WaitForInstanceCompletionAsync(session, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<AgentSessionResult>()!;
    }

    [Theory]
    [MemberData(nameof(LocalServiceJobs.Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Three_turns_sent_at_once_run_in_order_on_one_agent_and_thread_and_the_end_deletes_both(string protocol)
    {
        await using var server = await LocalServiceJobs.StartServerAsync();
        using var host = await LocalServiceJobs.StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var template = new AgentJobRequest("(session)", Tools: ["calculate"], Polling: LocalServiceJobs.FastPolling);
        var session = await StartSessionAsync(host.Services, template);

        // All three arrive before the first has run: the second and third wait in the session's event buffer.
        await SendAsync(client, session, template, "Please use calculate with {\"expression\": \"6 * 7\"}");
        await SendAsync(client, session, template, "Hello, tell me a joke");
        await SendAsync(client, session, template, "Please use calculate with {\"expression\": \"17 * 23\"}");

        var turns = new[] { await TurnAsync(client, session, 1), await TurnAsync(client, session, 2), await TurnAsync(client, session, 3) };
        Assert.All(turns, t => Assert.Equal(JobOutcome.Completed, t.Outcome));
        Assert.Contains("6 * 7 = 42", turns[0].Reply, StringComparison.Ordinal);
        Assert.Contains("joke", turns[1].Reply, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("17 * 23 = 391", turns[2].Reply, StringComparison.Ordinal);
        Assert.Equal(1, turns[0].ToolCalls);
        Assert.True(turns[0].Stop is null);

        // The thread holds the conversation in order: each user message followed by the agent's answer.
        var messages = turns[2].Messages.Select(m => (m.Role, m.Text)).ToList();
        Assert.Equal(["user", "assistant", "user", "assistant", "user", "assistant"], messages.Select(m => m.Role));
        Assert.Contains("6 * 7", messages[0].Text, StringComparison.Ordinal);
        Assert.Equal(turns[0].Reply, messages[1].Text);
        Assert.Equal("Hello, tell me a joke", messages[2].Text);
        Assert.Equal(turns[2].Reply, messages[5].Text);

        // One agent for the whole session, still there between turns; the turns ran one after the other.
        Assert.Equal(1, (await server.GetStatsAsync()).Agents);
        var starts = new List<DateTimeOffset>();
        for (var n = 1; n <= 3; n++)
        {
            var meta = await client.GetInstanceAsync(InstanceIds.Turn(session, n), Token);
            starts.Add(meta!.CreatedAt);
        }

        Assert.True(starts[0] <= starts[1] && starts[1] <= starts[2]);

        var ended = await EndAsync(client, session);
        Assert.Equal("deleted: done", ended.Reason);
        Assert.Equal(3, ended.Turns);
        Assert.True(ended.AgentDeleted);
        Assert.True(ended.ThreadDeleted);
        Assert.True(ended.Usage!.TotalTokens > 0);
        var stats = await server.GetStatsAsync();
        Assert.Equal(0, stats.Agents);
    }

    [Fact]
    public async Task An_idle_session_ends_itself_and_deletes_its_agent_but_not_an_adopted_thread()
    {
        await using var host = await WorkflowHost.StartAsync();
        var template = WorkflowHost.Job("(session)") with { ThreadId = "thread_adopted" };
        var session = await StartSessionAsync(host.Services, template, idleTimeoutSeconds: 2);

        var ended = await EndAsync(host.Client, session, reason: null);

        Assert.Equal("idle", ended.Reason);
        Assert.True(ended.AgentDeleted);
        Assert.False(ended.ThreadDeleted);
        Assert.Equal("thread_adopted", ended.ThreadId);
        Assert.Equal(0, host.Service.Count("DeleteThread"));
        Assert.Empty(host.Service.LiveAgents);
    }

    [Fact]
    public async Task Ending_a_session_during_a_running_turn_cancels_the_turn_and_deletes_the_agent()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Paused = true; // the run "thinks" until cancelled
        var template = WorkflowHost.Job("(session)");
        var session = await StartSessionAsync(host.Services, template);
        await SendAsync(host.Client, session, template, "think for a long time", maxDurationSeconds: 600);
        await host.WaitForPollsAsync(1);

        var ended = await EndAsync(host.Client, session, "closing the tab");
        var turn = await TurnAsync(host.Client, session, 1);

        Assert.Equal(JobOutcome.Cancelled, turn.Outcome);
        Assert.Contains("closing the tab", turn.Stop!.Message, StringComparison.Ordinal);
        Assert.Equal(1, host.Service.Count("CancelRun"));
        Assert.True(ended.AgentDeleted);
        Assert.Empty(host.Service.LiveAgents);
    }

    [Fact]
    public async Task Two_hundred_turns_keep_every_session_generation_small()
    {
        await using var host = await WorkflowHost.StartAsync(recordHistory: true);
        var template = WorkflowHost.Job("(session)");
        var session = await StartSessionAsync(host.Services, template);
        const int Turns = 200;
        for (var i = 1; i <= Turns; i++)
        {
            await SendAsync(host.Client, session, template, $"message {i}");
        }

        var last = await TurnAsync(host.Client, session, Turns, startWithinSeconds: 600);
        Assert.Equal(JobOutcome.Completed, last.Outcome);
        Assert.Contains($"message {Turns}", last.Reply, StringComparison.Ordinal);
        var ended = await EndAsync(host.Client, session);
        Assert.Equal(Turns, ended.Turns);

        // Each generation holds one turn: its history does not grow with the number of turns.
        var generations = host.History.LargestHistories.Where(h => h.Key.InstanceId == session).Select(h => h.Value).ToList();
        Assert.True(generations.Count >= Turns, $"{generations.Count} generations");
        Assert.InRange(generations.Max(), 1, 40);
        Assert.Empty(host.Service.LiveAgents);
    }

    [Fact]
    public async Task Retention_purges_an_ended_session_with_its_turns_and_their_pollers()
    {
        await using var host = await WorkflowHost.StartAsync();
        var template = WorkflowHost.Job("(session)");
        var session = await StartSessionAsync(host.Services, template);
        await SendAsync(host.Client, session, template, "only message");
        await TurnAsync(host.Client, session, 1);
        await EndAsync(host.Client, session);
        var owned = await OwnedAsync(host.Client, session);
        Assert.Contains(InstanceIds.Turn(session, 1), owned);
        Assert.Contains(owned, id => id.Contains(":poll:", StringComparison.Ordinal));

        var purger = host.Services.GetRequiredService<Retention.JobPurger>();
        await purger.PurgeExpiredAsync(host.Client, DateTimeOffset.UtcNow.AddDays(purger.Options.RetentionDays + 1), Token);

        Assert.Null(await host.Client.GetInstanceAsync(session, Token));
        Assert.Empty(await OwnedAsync(host.Client, session));
    }

    static async Task<List<string>> OwnedAsync(DurableTaskClient client, string session)
    {
        var ids = new List<string>();
        await foreach (var instance in client.GetAllInstancesAsync(new OrchestrationQuery { InstanceIdPrefix = session + ":" }))
        {
            ids.Add(instance.InstanceId);
        }

        return ids;
    }
}
