using AgentJobs.Configuration;
using AgentJobs.Contracts;
using AgentJobs.Events;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

using static AgentJobs.Tests.Support.LocalServiceJobs;

namespace AgentJobs.Tests;

/// <summary>
/// Stream-first waiting end to end, on both protocols, against the local agent service's real streams (classic
/// <c>thread.run.*</c> events, foundry <c>response.*</c> events): the activity that starts the run or submits tool
/// outputs follows the stream and returns the moment the run settles, so a run shorter than the window is never
/// polled; a longer run, or a stream that breaks, is polled with durable timers after it; a stop that arrives while a
/// stream is held cancels the run at once.
/// </summary>
public class StreamFirstWaitingTests
{
    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task A_run_shorter_than_the_window_is_seen_through_its_stream_with_no_poll(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 300);
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: StreamFirst(30)));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Contains("simulated", result.Reply, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, result.Polls);
        Assert.Equal(["user", "assistant"], result.Messages.Select(m => m.Role));
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task A_tool_round_is_streamed_on_the_start_and_on_the_submission(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 200);
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest(
            "Please use calculate with {\"expression\": \"6 * 7\"}", Tools: ["calculate"], Polling: StreamFirst(30)));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Contains("42", result.Reply, StringComparison.Ordinal);
        Assert.Equal(1, result.ToolCalls);
        Assert.Equal(0, result.Polls);
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task The_event_stream_of_a_streamed_tool_round_shows_the_run_that_ended_the_job(string protocol)
    {
        // On foundry each round is a new response: the first ends 'completed' with function calls, the follow-up
        // 'completed' with the answer. Streamed, no poll reports the follow-up's other statuses in between, and a
        // status seen before (the same word for another run) was not reported at all.
        await using var server = await StartServerAsync(inProgressMs: 200);
        using var host = await StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var id = await ScheduleAsync(host, new AgentJobRequest(
            "Please use calculate with {\"expression\": \"6 * 7\"}", Tools: ["calculate"], Polling: StreamFirst(30)));
        var result = await CompletionAsync(client, id);
        Assert.Equal(JobOutcome.Completed, result.Outcome);

        var (events, finished) = await new JobEventReader(host.Services.GetRequiredService<IJobHistorySource>(), id).ReadAsync(TestContext.Current.CancellationToken);
        Assert.True(finished);
        var last = events.Last(e => e.Type == JobEventTypes.RunStatus).Data;
        Assert.Equal(result.RunIds[^1], (string?)last["runId"]);
        Assert.Equal("completed", (string?)last["status"]);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task A_run_longer_than_the_window_is_polled_after_it(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 2_500);
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: StreamFirst(1)));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.True(result.Polls >= 1, "the run outlasted the 1 s window, so it must have been polled");
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task A_stream_dropped_mid_way_falls_back_to_polling_without_an_error(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 500);
        server.AddFault(new FaultRule { Operation = StartOperation(protocol), Mode = "drop-stream", Count = 1 });
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: StreamFirst(30)));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Null(result.Failure);
        if (protocol == AgentProtocols.Classic)
        {
            Assert.True(result.Polls >= 1, "a classic run stream cannot be resumed, so the run is polled after the drop");
        }
        else
        {
            Assert.Equal(0, result.Polls); // the response stream is resumed after its last sequence number
        }

        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task A_stream_that_drops_every_time_is_polled_after_a_few_resumes_not_held_for_the_window(string protocol)
    {
        // Every streamed request (the start, each resume) is cut after its first event. The SDK's own SSE reconnect
        // re-sent a resume with the same starting_after, so the same event came back every 3 s and the call held its
        // whole window although the run had ended long before.
        await using var server = await StartServerAsync(inProgressMs: 300);
        server.AddFault(new FaultRule { Mode = "drop-stream" });
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: StreamFirst(30)));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.True(result.ElapsedSeconds < 10, $"the job took {result.ElapsedSeconds:0.0} s for a 0.3 s run; a stream that keeps dropping must fall back to polling, not hold the 30 s window");
        Assert.True((await server.GetStatsAsync()).StreamsOpened <= 4, "one stream and at most three resumes");
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task A_stream_request_that_never_reaches_the_service_falls_back_to_the_plain_call(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 200);
        server.AddFault(new FaultRule { Operation = StartOperation(protocol), Mode = "drop", Count = 1 });
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: StreamFirst(30)));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Single(result.Messages, m => m.Role == "user"); // one message, one run: the fallback did not start a second
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task A_cancel_while_the_start_holds_its_stream_cancels_the_run_at_once(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 60_000);
        using var host = await StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var id = await ScheduleAsync(host, new AgentJobRequest("Hello", Polling: StreamFirst(60)));
        await WaitForPhaseAsync(client, id, JobPhase.StartingRun);
        await Task.Delay(1_000, TestContext.Current.CancellationToken); // the run exists and its stream is held

        await client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "not now", TestContext.Current.CancellationToken);
        var result = await CompletionAsync(client, id);

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.Equal("cancelled", result.RunStatus);
        Assert.True(result.ElapsedSeconds < 15, $"the job took {result.ElapsedSeconds:0.0} s; a held 60 s stream must not delay the cancel");
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(Support.LocalServiceJobs))]
    public async Task The_window_never_outlasts_the_jobs_deadline(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 60_000);
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello", MaxDurationSeconds: 3, Polling: StreamFirst(60)));

        Assert.Equal(JobOutcome.TimedOut, result.Outcome);
        Assert.True(result.ElapsedSeconds < 15, $"the job took {result.ElapsedSeconds:0.0} s against a 3 s deadline");
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [InlineData("0", false)]
    [InlineData("30", true)]
    public async Task The_hosts_stream_window_setting_applies_to_jobs_that_set_none(string setting, bool streams)
    {
        await using var server = await StartServerAsync(inProgressMs: 300);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AgentService:Endpoint"] = server.OpenAIEndpoint.ToString(),
            ["AgentService:ApiKey"] = Key,
            ["AgentService:ApiVersion"] = "none",
            ["AgentJobs:StreamWindowSeconds"] = setting,
        }).Build();
        using var host = await StartWorkflowAsync(server, AgentProtocols.Classic, configure: services => services.AddAgentJobs(configuration));

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling with { StreamWindowSeconds = null }));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(streams, result.Polls == 0);
    }

    static string StartOperation(string protocol) => protocol == AgentProtocols.Foundry ? "create-response" : "create-run";
}
