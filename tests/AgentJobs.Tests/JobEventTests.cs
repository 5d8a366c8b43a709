using System.Text;
using AgentJobs.AgentService;
using AgentJobs.Application;
using AgentJobs.Contracts;
using AgentJobs.Events;
using AgentJobs.Tests.Support;
using AgentJobs.Tools;
using Microsoft.Extensions.DependencyInjection;

namespace AgentJobs.Tests;

/// <summary>Job events derived from durable history: order, stable ids, prefixes, previews and bounded custom status.</summary>
public class JobEventTests
{
    static ToolCallRequest Call(string id, string name, string arguments = "{}") => new(id, name, arguments);

    static string Line(JobEvent e) => $"{e.Id} {e.Type} {e.Data.ToJsonString()}";

    [Fact]
    public async Task A_job_with_tool_rounds_tells_its_story_in_order_and_every_read_mid_job_is_a_prefix_of_the_end()
    {
        await using var host = await WorkflowHost.StartAsync(services =>
            services.AddAgentTool("shout", "Shouts.", (string text) => text.ToUpperInvariant()));
        host.Service.Script = _ =>
        [
            ScriptStep.Of("in_progress"),
            ScriptStep.Tools(Call("call_1", "shout", """{"text":"a"}"""), Call("call_2", "shout", """{"text":"b"}""")),
            ScriptStep.Of("in_progress"),
            ScriptStep.Tools(Call("call_3", "shout", """{"text":"c"}""")),
            ScriptStep.Of("in_progress"),
            ScriptStep.Of("completed"),
        ];
        host.Service.Paused = true; // the run "thinks" until released, so a read surely lands mid-job
        var id = await host.StartJobAsync(WorkflowHost.Job("Shout twice") with { Tools = ["shout"] });

        // Read while it runs, as a stream does: every snapshot must be a prefix of the final story.
        var reader = new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id);
        var snapshots = new List<IReadOnlyList<JobEvent>>();
        var finished = false;
        for (var i = 0; !finished && i < 3000; i++)
        {
            (var snapshot, finished) = await reader.ReadAsync(TestContext.Current.CancellationToken);
            snapshots.Add(snapshot);
            if (host.Service.Paused && snapshot.Any(e => e.Type == JobEventTypes.Phase && (string?)e.Data["phase"] == "Polling"))
            {
                host.Service.Paused = false;
            }

            await Task.Delay(10, TestContext.Current.CancellationToken);
        }

        Assert.True(finished, "the job did not finish within the reads");
        var final = snapshots[^1].Select(Line).ToList();
        Assert.All(snapshots, s => Assert.Equal(final.Take(s.Count), s.Select(Line)));
        Assert.Contains(snapshots, s => s.Count > 0 && s.Count < final.Count);

        // A fresh reader (another stream, another worker) derives exactly the same events and ids.
        var (again, _) = await new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id).ReadAsync(TestContext.Current.CancellationToken);
        Assert.Equal(final, again.Select(Line));

        var events = snapshots[^1];
        var ids = events.Select(e => e.Id).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());

        var types = events.Select(e => e.Type == JobEventTypes.Phase ? "phase:" + e.Data["phase"] : e.Type).ToList();
        Assert.Equal(JobEventTypes.Accepted, types[0]);
        Assert.Equal(["phase:CreatingAgent", "phase:CreatingThread", "phase:StartingRun"], types.Where(t => t.StartsWith("phase:", StringComparison.Ordinal)).Take(3));
        Assert.Equal(3, types.Count(t => t == JobEventTypes.ToolCall));
        Assert.Equal(3, types.Count(t => t == JobEventTypes.ToolResult));
        Assert.Equal(2, types.Count(t => t == "phase:RunningTools"));
        Assert.Equal(["phase:CollectingResults", "phase:CleaningUp", "phase:Done", JobEventTypes.Reply, JobEventTypes.Result], types.TakeLast(5));
        Assert.Equal(["in_progress", "requires_action", "in_progress", "requires_action", "in_progress", "completed"], Collapse(events));

        var result = events[^1].Data;
        Assert.Equal("Completed", (string?)result["runtimeStatus"]);
        Assert.Equal("Completed", (string?)result["outcome"]);
        Assert.True((bool?)result["agentDeleted"]);
        Assert.Equal(3, (int?)result["toolCalls"]);
        var c3 = events.Single(e => e.Type == JobEventTypes.ToolResult && (string?)e.Data["callId"] == "call_3").Data;
        Assert.Equal("shout", (string?)c3["tool"]);
        Assert.Equal("C", (string?)c3["output"]);
        Assert.Equal("""{"text":"c"}""", (string?)events.Single(e => e.Type == JobEventTypes.ToolCall && (string?)e.Data["callId"] == "call_3").Data["arguments"]);
        Assert.All(events, e => Assert.NotNull(e.Data["at"]));
    }

    [Fact]
    public async Task Run_status_changes_seen_by_poller_generations_that_continued_as_new_are_still_in_the_stream()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ =>
        [
            ScriptStep.Of("in_progress"), ScriptStep.Of("in_progress"), ScriptStep.Of("in_progress"),
            ScriptStep.Of("queued"), ScriptStep.Of("in_progress"), ScriptStep.Of("in_progress"),
            ScriptStep.Of("completed"),
        ];

        // Two polls per generation: the changes at polls 1, 4 and 5 are seen by generations long gone when the job
        // is read, once, at its end.
        var id = await host.StartJobAsync(WorkflowHost.Job() with { Polling = WorkflowHost.FastPolling with { PollsPerGeneration = 2 } });
        await host.WaitForEndAsync(id);
        var (events, finished) = await new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id).ReadAsync(TestContext.Current.CancellationToken);

        Assert.True(finished);
        var statuses = events.Where(e => e.Type == JobEventTypes.RunStatus).Select(e => ((string?)e.Data["status"], (int?)e.Data["polls"])).ToList();
        Assert.Equal([("queued", null), ("in_progress", 1), ("queued", 4), ("in_progress", 5), ("completed", 7)], statuses);

        // The ids a reader got while each generation ran: the poller's position, then 1 + 2 × polls.
        Assert.All(events.Where(e => e.Type == JobEventTypes.RunStatus && e.Data["polls"] is not null), e =>
            Assert.Equal(1 + (2 * (int)e.Data["polls"]!), e.Id.Sub));
        var ids = events.Select(e => e.Id).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
    }

    // Run statuses as a reader sees them, consecutive repeats removed (queued may or may not be seen).
    static List<string?> Collapse(IReadOnlyList<JobEvent> events)
    {
        var statuses = events.Where(e => e.Type == JobEventTypes.RunStatus).Select(e => (string?)e.Data["status"]).Where(s => s != "queued").ToList();
        Assert.Equal(statuses.Count, statuses.Where((s, i) => i == 0 || s != statuses[i - 1]).Count());
        return statuses;
    }

    [Fact]
    public async Task A_100_tool_call_job_keeps_every_custom_status_under_16_KB_and_streams_every_call_with_1_KB_previews()
    {
        const int N = 100;
        var bigOutput = new string('x', 5_000);
        var longName = "tool_" + new string('n', 59); // 64 characters, the longest name the services accept
        await using var host = await WorkflowHost.StartAsync(
            services => services.AddAgentTool(longName, "Returns a lot.", (string q) => bigOutput + q),
            recordHistory: true);
        var bigArguments = "{\"q\":\"" + new string('é', 2_000) + "\"}";
        var calls = Enumerable.Range(1, N).Select(i => Call($"call_{i:000}", longName, bigArguments)).ToArray();
        host.Service.Script = _ => [ScriptStep.Tools(calls), ScriptStep.Of("in_progress"), ScriptStep.Of("completed")];

        var id = await host.StartJobAsync(WorkflowHost.Job("Call a hundred tools") with { Tools = [longName] });
        await host.WaitForEndAsync(id, 120);

        var statuses = host.History.LargestCustomStatuses;
        Assert.Contains(id, statuses.Keys);
        Assert.All(statuses, s => Assert.True(s.Value < 16 * 1024, $"{s.Key}: custom status of {s.Value} bytes"));

        var (events, finished) = await new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id).ReadAsync(TestContext.Current.CancellationToken);
        Assert.True(finished);
        var toolCalls = events.Where(e => e.Type == JobEventTypes.ToolCall).ToList();
        var toolResults = events.Where(e => e.Type == JobEventTypes.ToolResult).ToList();
        Assert.Equal(calls.Select(c => c.Id), toolCalls.Select(e => (string?)e.Data["callId"]));
        Assert.Equal(calls.Select(c => c.Id).Order(), toolResults.Select(e => (string?)e.Data["callId"]).Order());
        Assert.All(toolCalls, e => Assert.InRange(Encoding.UTF8.GetByteCount((string)e.Data["arguments"]!), 1000, JobEventProjector.ToolPreviewBytes));
        Assert.All(toolResults, e => Assert.InRange(Encoding.UTF8.GetByteCount((string)e.Data["output"]!), 1000, JobEventProjector.ToolPreviewBytes));
        Assert.All(toolResults, e => Assert.EndsWith("…", (string)e.Data["output"]!));
        Assert.Equal(N, (int?)events[^1].Data["toolCalls"]);
    }

    [Fact]
    public async Task A_cancelled_job_says_who_asked_and_ends_cancelled()
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Paused = true;
        var id = await host.StartJobAsync(WorkflowHost.Job());
        var reader = new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id);
        await WorkflowHost.WaitUntilAsync(
            async () => (await reader.ReadAsync(TestContext.Current.CancellationToken)).Events.Any(e => e.Type == JobEventTypes.Phase && (string?)e.Data["phase"] == "Polling"),
            "the Polling phase event");

        await Application.JobEvents.RaiseAsync(host.Client, id, Workflow.AgentJobOrchestrator.CancelEventName, "changed my mind", TestContext.Current.CancellationToken);
        await host.WaitForEndAsync(id);

        var (events, finished) = await reader.ReadAsync(TestContext.Current.CancellationToken);
        Assert.True(finished);
        Assert.Equal("changed my mind", (string?)Assert.Single(events, e => e.Type == JobEventTypes.CancelRequested).Data["reason"]);
        Assert.Contains(events, e => e.Type == JobEventTypes.Phase && (string?)e.Data["phase"] == "Cancelling");
        Assert.Equal("Cancelled", (string?)events[^1].Data["outcome"]);
        Assert.DoesNotContain(events, e => e.Type == JobEventTypes.Reply);
    }

    [Theory]
    [InlineData("0.0.0", true)]
    [InlineData("12.7.3", true)]
    [InlineData("", false)]
    [InlineData("1.2", false)]
    [InlineData("1.2.3.4", false)]
    [InlineData("-1.0.0", false)]
    [InlineData("a.b.c", false)]
    public void Event_ids_parse_only_in_their_wire_form(string text, bool valid)
    {
        Assert.Equal(valid, JobEventId.TryParse(text, out var id));
        if (valid)
        {
            Assert.Equal(text, id.ToString());
        }
    }
}
