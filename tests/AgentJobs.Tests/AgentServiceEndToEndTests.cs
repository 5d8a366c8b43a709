using AgentJobs.Configuration;
using AgentJobs.Contracts;
using AgentJobs.Http;
using AgentJobs.Hosting;
using AgentJobs.Workflow;
using LocalAgentService;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

using AgentJobs.Tests.Support;
using static AgentJobs.Tests.Support.LocalServiceJobs;

namespace AgentJobs.Tests;

/// <summary>
/// The workflow's behaviour end to end through each real adapter (classic: the OpenAI SDK's AssistantClient;
/// foundry: ResponsesClient + ConversationClient + agent versions) against the local agent service on 127.0.0.1.
/// One suite, parameterised by protocol; no fake anywhere below our port. Every case checks that no agent is
/// left behind according to the service's own stats.
/// </summary>
public class AgentServiceEndToEndTests
{



    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Seed_flow_completes_with_a_reply_and_leaves_no_agent(string protocol)
    {
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal("completed", result.RunStatus);
        Assert.Contains("simulated", result.Reply, StringComparison.OrdinalIgnoreCase);
        Assert.NotNull(result.ThreadId);
        Assert.Equal(["user", "assistant"], result.Messages.Select(m => m.Role));
        Assert.Equal("Hello, tell me a joke", result.Messages[0].Text);
        Assert.Contains(result.RunSteps, s => s.Type == "message_creation");
        Assert.NotNull(result.Usage);
        Assert.True(result.Polls >= 1);
        await AssertNoAgentLeftAsync(server, result);
    }

    [Fact]
    public async Task Classic_flow_also_works_on_the_openai_route_shape()
    {
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, AgentProtocols.Classic, endpoint: server.OpenAIEndpoint);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.StartsWith("thread_", result.ThreadId);
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Tool_round_trip_runs_calculate_and_the_reply_uses_its_output(string protocol)
    {
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest(
            "Please use calculate with {\"expression\": \"6 * 7\"}", Tools: ["calculate"], Polling: FastPolling));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(1, result.ToolCalls);
        Assert.Contains("42", result.Reply);
        var call = Assert.Single(result.RunSteps.SelectMany(s => s.ToolCalls));
        Assert.Equal("calculate", call.Name);
        Assert.Contains("6 * 7", call.Arguments);
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_run_the_service_fails_ends_failed_with_its_error(string protocol)
    {
        await using var server = await StartServerAsync();
        server.AddFault(new FaultRule { Operation = CreateRunOperation(protocol), Mode = "run-fail", Count = 1 });
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.NotNull(result.Failure);
        Assert.False(string.IsNullOrWhiteSpace(result.Failure.Message));
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Past_the_deadline_the_run_is_cancelled_and_the_job_times_out(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 30_000);
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", MaxDurationSeconds: 8, Polling: FastPolling));

        Assert.Equal(JobOutcome.TimedOut, result.Outcome);
        Assert.Equal("cancelled", result.RunStatus);
        Assert.Equal("timed_out", result.Failure?.Code);
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_cancel_request_cancels_the_run_and_still_cleans_up(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 30_000);
        using var host = await StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var id = await ScheduleAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));
        await WaitForPhaseAsync(client, id, JobPhase.Polling);

        await client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "the user changed their mind", TestContext.Current.CancellationToken);
        var result = await CompletionAsync(client, id);

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.Equal("cancelled", result.RunStatus);
        Assert.Contains("the user changed their mind", result.Failure?.Message);
        await AssertNoAgentLeftAsync(server, result);
    }

    public static TheoryData<string, bool> ProtocolsAndStops => new()
    {
        { AgentProtocols.Classic, true }, { AgentProtocols.Classic, false }, { AgentProtocols.Foundry, true }, { AgentProtocols.Foundry, false },
    };

    /// <summary>
    /// The field report: a tool job whose first poll meets a 429 with a 5 s retry-after reaches its tool round
    /// meanwhile; a cancel 2 s in (or a 2 s deadline) used to hold a foundry job for the whole 60 s grace period
    /// (the service cannot cancel a completed response) and left a function call without output in the conversation.
    /// </summary>
    [Theory]
    [MemberData(nameof(ProtocolsAndStops))]
    public async Task A_job_stopped_during_a_tool_round_ends_promptly_and_the_next_job_can_continue_its_thread(string protocol, bool byCancel)
    {
        await using var server = await StartServerAsync();
        server.AddFault(new FaultRule { Operation = GetRunOperation(protocol), Mode = "429", Count = 1, RetryAfterMs = 5000 });
        using var host = await StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var request = new AgentJobRequest("Please use calculate with {\"expression\": \"6 * 7\"}", Tools: ["calculate"], Polling: FastPolling);

        var id = await ScheduleAsync(host, byCancel ? request : request with { MaxDurationSeconds = 2 });
        if (byCancel)
        {
            await Task.Delay(2000, TestContext.Current.CancellationToken);
            await client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "changed my mind", TestContext.Current.CancellationToken);
        }

        var result = await CompletionAsync(client, id);

        Assert.Equal(byCancel ? JobOutcome.Cancelled : JobOutcome.TimedOut, result.Outcome);
        Assert.True(result.ElapsedSeconds < 20, $"the job took {result.ElapsedSeconds:0.0} s to stop");
        Assert.Equal(0, result.ToolCalls);

        var next = await RunAsync(host, new AgentJobRequest("Hello again", ThreadId: result.ThreadId, Polling: FastPolling));
        Assert.True(next.Outcome == JobOutcome.Completed, $"{next.Outcome}: {next.Failure?.Message}");
        await AssertNoAgentLeftAsync(server, next);
    }

    /// <summary>
    /// Runs of 3 s and a 5 s deadline: the deadline passes while the follow-up run that carries the tool outputs is
    /// in progress. On foundry that response is cancelled and its input (the outputs) never joins the conversation,
    /// which used to leave the function call open, so the next job on the conversation failed.
    /// </summary>
    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_job_stopped_while_its_tool_outputs_are_answered_leaves_a_thread_the_next_job_can_continue(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 3_000);
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest(
            "Please use calculate with {\"expression\": \"6 * 7\"}", Tools: ["calculate"], MaxDurationSeconds: 5, Polling: FastPolling));
        Assert.Equal(JobOutcome.TimedOut, result.Outcome);

        var next = await RunAsync(host, new AgentJobRequest("Hello again", ThreadId: result.ThreadId, Polling: FastPolling));
        Assert.True(next.Outcome == JobOutcome.Completed, $"{next.Outcome}: {next.Failure?.Message}");
        await AssertNoAgentLeftAsync(server, next);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_cancel_while_creating_the_agent_is_retried_ends_the_job_at_once(string protocol)
    {
        await using var server = await StartServerAsync();
        server.AddFault(new FaultRule { Operation = CreateAgentOperation(protocol), Mode = "429", Count = 1_000, RetryAfterMs = 2_000 });
        using var host = await StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var id = await ScheduleAsync(host, new AgentJobRequest("Hello", Polling: FastPolling));
        await Task.Delay(500, TestContext.Current.CancellationToken);

        await client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "not now", TestContext.Current.CancellationToken);
        var result = await CompletionAsync(client, id);

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.True(result.ElapsedSeconds < 10, $"the job took {result.ElapsedSeconds:0.0} s"); // before: all retries, then Failed
        Assert.Null(result.AgentId);
        Assert.Equal(0, (await server.GetStatsAsync()).Agents);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_cancel_call_that_keeps_failing_is_given_up_when_the_grace_period_ends(string protocol)
    {
        await using var server = await StartServerAsync(inProgressMs: 60_000);
        server.AddFault(new FaultRule { Operation = protocol == AgentProtocols.Foundry ? "cancel-response" : "cancel-run", Mode = "500", Count = 1_000 });
        using var host = await StartWorkflowAsync(server, protocol);
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        var id = await ScheduleAsync(host, new AgentJobRequest("Hello", CancelGraceSeconds: 2, Polling: FastPolling));
        await WaitForPhaseAsync(client, id, JobPhase.Polling);

        await client.RaiseEventAsync(id, AgentJobOrchestrator.CancelEventName, "stop", TestContext.Current.CancellationToken);
        var result = await CompletionAsync(client, id);

        Assert.Equal(JobOutcome.Cancelled, result.Outcome);
        Assert.InRange(result.ElapsedSeconds - result.Stop!.AtSeconds, 0, 20); // before: 8 cleanup attempts, about 90 s
        Assert.True(result.AgentDeleted);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_token_budget_is_enforced_on_both_protocols(string protocol)
    {
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, protocol);

        // Classic services report usage only when the run ends, so there the budget is judged then.
        var result = await RunAsync(host, new AgentJobRequest(
            "Please use calculate with {\"expression\": \"6 * 7\"}", Tools: ["calculate"], MaxTotalTokens: 1, Polling: FastPolling));

        Assert.Equal(JobOutcome.BudgetExceeded, result.Outcome);
        Assert.Contains("maxTotalTokens", result.Failure!.Message, StringComparison.Ordinal);
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Dropped_connections_on_polls_are_retried_durably_and_the_job_completes(string protocol)
    {
        await using var server = await StartServerAsync();
        server.AddFault(new FaultRule { Operation = GetRunOperation(protocol), Mode = "drop", Count = 4 });
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));

        Assert.True(result.Outcome == JobOutcome.Completed, $"{result.Outcome}: {result.Failure?.Message}");
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Transient_429s_on_polls_are_retried_and_the_job_completes(string protocol)
    {
        await using var server = await StartServerAsync();
        // Four in a row: within the five durable attempts a read gets (the SDK's own retries are off).
        server.AddFault(new FaultRule { Operation = GetRunOperation(protocol), Mode = "429", Count = 4, RetryAfterMs = 50 });
        using var host = await StartWorkflowAsync(server, protocol);

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        await AssertNoAgentLeftAsync(server, result);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_rejected_key_fails_fast_with_the_services_message_and_creates_nothing(string protocol)
    {
        await using var server = await StartServerAsync();
        using var host = await StartWorkflowAsync(server, protocol, apiKey: "not-the-key");

        var result = await RunAsync(host, new AgentJobRequest("Hello", Polling: FastPolling));

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Contains("401", result.Failure!.Message);
        Assert.Null(result.AgentId);
        Assert.True(result.AgentDeleted);
        var stats = await server.GetStatsAsync();
        Assert.Equal(0L, stats.AssistantsCreated + stats.AgentVersionsCreated);
    }

    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task Without_a_key_the_adapters_send_an_entra_token_for_the_ai_azure_com_scope(string protocol)
    {
        // Tokens are only sent over https, so the adapters talk to an https endpoint whose requests a handler
        // forwards to the local service over loopback http. The local service accepts its key as a bearer token,
        // so a credential that returns the key stands in for DefaultAzureCredential: the job completes only if
        // the token is sent, for the right scope.
        await using var server = await StartServerAsync();
        var credential = new RecordingCredential(Key);
        var endpoint = AgentServiceEndpoint.Resolve(new AgentServiceOptions
        {
            Protocol = protocol,
            Endpoint = new UriBuilder(server.ProjectEndpoint) { Scheme = Uri.UriSchemeHttps }.Uri.ToString(),
        });
        Assert.Null(endpoint.ApiKey);
        using var http = new HttpClient(new HttpsToLoopbackHandler { InnerHandler = new HttpClientHandler() });
        var transport = new System.ClientModel.Primitives.HttpClientPipelineTransport(http);
        using var host = await StartWorkflowAsync(server, protocol, configure: services => services.AddSingleton<AgentService.IAgentService>(
            protocol == AgentProtocols.Foundry
                ? AgentService.AgentServiceClients.CreateFoundryAgentService(endpoint, credential, transport)
                : new AgentService.Classic.ClassicAgentService(AgentService.AgentServiceClients.CreateAssistantClient(endpoint, credential, transport))));

        var result = await RunAsync(host, new AgentJobRequest("Hello, tell me a joke", Polling: FastPolling));

        Assert.True(result.Outcome == JobOutcome.Completed, result.Failure?.Message);
        Assert.Contains("https://ai.azure.com/.default", credential.Scopes);
        Assert.DoesNotContain(credential.Scopes, s => s != "https://ai.azure.com/.default");
        await AssertNoAgentLeftAsync(server, result);
    }

    sealed class HttpsToLoopbackHandler : DelegatingHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal(Uri.UriSchemeHttps, request.RequestUri!.Scheme);
            request.RequestUri = new UriBuilder(request.RequestUri) { Scheme = Uri.UriSchemeHttp }.Uri;
            return base.SendAsync(request, cancellationToken);
        }
    }

    sealed class RecordingCredential(string token) : Azure.Core.TokenCredential
    {
        readonly System.Collections.Concurrent.ConcurrentBag<string> scopes = [];

        public IReadOnlyCollection<string> Scopes => [.. scopes];

        public override Azure.Core.AccessToken GetToken(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            foreach (var scope in requestContext.Scopes)
            {
                scopes.Add(scope);
            }

            return new Azure.Core.AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<Azure.Core.AccessToken> GetTokenAsync(Azure.Core.TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }

    static string CreateRunOperation(string protocol) => protocol == AgentProtocols.Foundry ? "create-response" : "create-run";

    static string CreateAgentOperation(string protocol) => protocol == AgentProtocols.Foundry ? "create-agent-version" : "list-assistants";

    static string GetRunOperation(string protocol) => protocol == AgentProtocols.Foundry ? "get-response" : "get-run";




}
