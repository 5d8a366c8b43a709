using AgentJobs.Contracts;
using AgentJobs.Deltas;
using AgentJobs.Events;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

using static AgentJobs.Tests.Support.LocalServiceJobs;

namespace AgentJobs.Tests;

/// <summary>
/// Live text: the streamed calls (start run, submit tool outputs) forward the text deltas they read to the delta log
/// (in process on the in-memory backend), and the job's events interleave them, in order, with ids. The reply in
/// durable history is the source of truth, and equals the text the deltas spelled.
/// </summary>
public class DeltaLogTests
{
    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task The_reply_equals_the_text_its_deltas_spelled(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 100);
        using var host = await StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var id = await ScheduleAsync(host, new AgentJobRequest(
            "Please use calculate with {\"expression\": \"6 * 7\"}", Tools: ["calculate"], Polling: StreamFirst(30)));
        var result = await CompletionAsync(client, id);
        Assert.Equal(JobOutcome.Completed, result.Outcome);

        var events = await EventsWithEveryDeltaAsync(host, id);
        var deltas = events.Where(e => e.Type == JobEventTypes.Delta).ToList();
        Assert.NotEmpty(deltas);
        Assert.Equal(result.Reply, Spelled(deltas));
        Assert.All(deltas, d => Assert.Contains((string?)d.Data["runId"], result.RunIds));

        // In id order, the deltas between the call that wrote them and the job's later events, before the reply.
        Assert.Equal(events.Select(e => e.Id).Order(), events.Select(e => e.Id));
        Assert.True(events.FindIndex(e => e.Type == JobEventTypes.Delta) > events.FindIndex(e => e.Type == JobEventTypes.ToolResult));
        Assert.True(events.FindLastIndex(e => e.Type == JobEventTypes.Delta) < events.FindIndex(e => e.Type == JobEventTypes.Reply));
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task A_watcher_joining_a_finished_job_gets_the_reply_without_the_deltas_and_one_resuming_gets_exactly_the_rest(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 50);
        using var host = await StartWorkflowAsync(server, protocol);
        var id = await ScheduleAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: StreamFirst(30)));
        var result = await CompletionAsync(host.Services.GetRequiredService<DurableTaskClient>(), id);
        var all = await EventsWithEveryDeltaAsync(host, id);
        var deltas = all.Where(e => e.Type == JobEventTypes.Delta).ToList();
        Assert.NotEmpty(deltas);
        Assert.Equal(result.Reply, Spelled(deltas));

        // A late watcher: no deltas, the reply whole.
        var (late, finished) = await Reader(host, id).ReadAsync(TestContext.Current.CancellationToken);
        Assert.True(finished);
        Assert.DoesNotContain(late, e => e.Type == JobEventTypes.Delta);
        Assert.Equal(result.Reply, (string?)late.Single(e => e.Type == JobEventTypes.Reply).Data["text"]);
        Assert.Equal(all.Where(e => e.Type != JobEventTypes.Delta).Select(e => e.Id), late.Select(e => e.Id));

        // A watcher that reconnects, whether it saw the first delta or stopped just before the call: exactly the rest.
        foreach (var after in new[] { deltas[0].Id, all[all.IndexOf(deltas[0]) - 1].Id })
        {
            var (resumed, _) = await Reader(host, id).ReadAsync(after, TestContext.Current.CancellationToken);
            Assert.Equal(all.Where(e => e.Id > after).Select(e => e.Id), resumed.Where(e => e.Id > after).Select(e => e.Id));
        }
    }

    [Fact]
    public async Task A_writer_batches_pieces_into_few_appends_and_numbers_on_after_an_earlier_attempt()
    {
        var log = new InMemoryDeltaLog();
        var options = new DeltaLogOptions { FlushInterval = TimeSpan.FromSeconds(10), MaxPiecesPerFlush = 64 };
        await using (var writer = await DeltaWriter.OpenAsync(log, "job", "job:run", options, NullLogger.Instance, default))
        {
            for (var i = 0; i < 1000; i++)
            {
                writer.Add("run_1", "msg_1", "w ", i);
            }
        }

        var written = await log.ReadAsync("job", "job:run", -1, default);
        Assert.InRange(log.Operations, 2, 1 + 17); // the open's read, then one append per 64 pieces (⌈1000/64⌉ = 16) and the rest
        Assert.Equal(string.Concat(Enumerable.Repeat("w ", 1000)), string.Concat(written.Select(e => e.Text)));
        Assert.Equal(Enumerable.Range(0, written.Count), written.Select(e => e.Seq));

        // A retried call (another worker) continues the numbering; a resumed stream's repeated events are skipped.
        await using (var again = await DeltaWriter.OpenAsync(log, "job", "job:run", options, NullLogger.Instance, default))
        {
            Assert.Equal(written.Count, again.NextSeq);
            again.Add("run_1", "msg_1", "w ", 999); // seen already
            again.Add("run_1", "msg_1", "end", 1000);
        }

        var after = await log.ReadAsync("job", "job:run", written[^1].Seq, default);
        Assert.Equal("end", Assert.Single(after).Text);
    }

    [Fact]
    public async Task A_call_log_is_capped_with_a_marker()
    {
        var log = new InMemoryDeltaLog();
        var options = new DeltaLogOptions { FlushInterval = TimeSpan.FromMilliseconds(5), MaxCharsPerCall = 10 };
        await using (var writer = await DeltaWriter.OpenAsync(log, "job", "k", options, NullLogger.Instance, default))
        {
            writer.Add("r", "m", "123456", null);
            writer.Add("r", "m", "7890abc", null);
            writer.Add("r", "m", "more", null);
        }

        var entries = await log.ReadAsync("job", "k", -1, default);
        Assert.Equal("1234567890", string.Concat(entries.Select(e => e.Text)));
        Assert.True(entries[^1].Truncated);
    }

    /// <summary>The text deltas spell: each message's text, messages joined as the reply joins them.</summary>
    static string Spelled(IEnumerable<JobEvent> deltas) =>
        string.Join("\n\n", deltas.GroupBy(d => (string?)d.Data["itemId"]).Select(g => string.Concat(g.Select(d => (string?)d.Data["text"]))));

    static JobEventReader Reader(IHost host, string id) =>
        new(host.Services.GetRequiredService<IJobHistorySource>(), id, host.Services.GetRequiredService<IDeltaLog>());

    /// <summary>Every event of the job with every delta, as a watcher that followed it from the start saw them.</summary>
    static async Task<List<JobEvent>> EventsWithEveryDeltaAsync(IHost host, string id)
    {
        var history = await host.Services.GetRequiredService<IJobHistorySource>().GetHistoryAsync(id, TestContext.Current.CancellationToken);
        var log = host.Services.GetRequiredService<IDeltaLog>();
        var deltas = new Dictionary<string, IReadOnlyList<TextDelta>>();
        foreach (var call in JobEventProjector.StreamedCalls(history))
        {
            deltas[call.Key] = await log.ReadAsync(id, call.Key, -1, TestContext.Current.CancellationToken);
        }

        var (events, finished) = JobEventProjector.Project(history, _ => null, key => deltas.GetValueOrDefault(key));
        Assert.True(finished);
        return [.. events];
    }
}
