using System.Net;
using System.Text.Json;
using Xunit;

namespace AgentJobs.ApiContract;

/// <summary>
/// Approval of tool calls over HTTP (<c>POST /api/agent-jobs/{id}/approvals</c>), shared by every host (derive as for
/// <see cref="AgentJobsApiContract"/>).
/// </summary>
public abstract class AgentJobsApprovalContract(IAgentJobsApiHost host) : AgentJobsContractBase(host)
{
    const string CalculatePrompt = "Please use calculate with {\\\"expression\\\": \\\"6 * 7\\\"}";

    /// <summary>Bodies refused with 400 naming the field.</summary>
    public static TheoryData<string, string> InvalidDecisions { get; } = new()
    {
        { "", "body" },
        { "[]", "body" },
        { "{\"approved\": true}", "callId" },
        { "{\"callId\": \"call_1\"}", "approved" },
        { "{\"callId\": \"call_1\", \"approved\": \"yes\"}", "approved" },
        { "{\"callId\": \"call_1\", \"approved\": true, \"because\": \"typo\"}", "because" },
        { "{\"callId\": \"call_1\", \"approved\": true, \"reason\": \"" + new string('r', 1001) + "\"}", "reason" },
    };

    // A model name no host configures: hosts with an embedded agent service run it on their simulated model, which
    // calls the tool the prompt names and answers from its output.
    static string HeldJob(string approval) =>
        $"{{\"prompt\": \"{CalculatePrompt}\", \"model\": \"simulated-approvals\", \"tools\": [\"calculate\"], \"approval\": {approval}, {FastPolling}}}";

    async Task<(string Id, string CallId)> StartHeldAsync(string approval = "{\"tools\": [\"calculate\"]}")
    {
        using var response = await PostAsync(JobsPath, HeldJob(approval));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = (await ReadJsonAsync(response)).GetProperty("id").GetString()!;
        var status = await WaitForAsync(id, s => s.GetProperty("progress") is { ValueKind: JsonValueKind.Object } p
            && p.GetProperty("phase").GetString() == "AwaitingApproval" && p.GetProperty("pendingApprovals").GetArrayLength() == 1);
        var pending = status.GetProperty("progress").GetProperty("pendingApprovals")[0];
        Assert.Equal("calculate", pending.GetProperty("tool").GetString());
        Assert.Contains("6 * 7", pending.GetProperty("arguments").GetString(), StringComparison.Ordinal);
        Assert.True(pending.GetProperty("expiresAt").GetDateTime() > DateTime.UtcNow);
        return (id, pending.GetProperty("callId").GetString()!);
    }

    Task<HttpResponseMessage> DecideAsync(string id, string body) => PostAsync($"{JobsPath}/{Uri.EscapeDataString(id)}/approvals", body);

    /// <summary>An approval policy that is not about the job's tools is refused when the job is submitted.</summary>
    [Theory]
    [InlineData("{\"tools\": []}", "approval.tools")]
    [InlineData("{\"tools\": [\"get_utc_now\"]}", "approval.tools")]
    [InlineData("{\"tools\": [null]}", "approval.tools")]
    [InlineData("{\"tools\": [null, \"calculate\"]}", "approval.tools")]
    [InlineData("{\"tools\": [\"calculate\"], \"timeoutSeconds\": 0}", "approval.timeoutSeconds")]
    [InlineData("{\"tools\": [\"calculate\"], \"onTimeout\": \"explode\"}", "approval.onTimeout")]
    public async Task A_job_with_a_bad_approval_policy_gets_400_naming_the_field(string approval, string field)
    {
        using var response = await PostAsync(JobsPath, HeldJob(approval));
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    /// <summary>Bad decision bodies: 400 naming the field, before the job is even looked up.</summary>
    [Theory]
    [MemberData(nameof(InvalidDecisions))]
    public async Task A_bad_decision_gets_400_naming_the_field(string body, string field)
    {
        using var response = await DecideAsync($"no-such-job-{Guid.NewGuid():N}", body);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest, field);
    }

    /// <summary>A decision for a job that does not exist: 404.</summary>
    [Fact]
    public async Task A_decision_for_an_unknown_job_gets_404()
    {
        using var response = await DecideAsync($"no-such-job-{Guid.NewGuid():N}", "{\"callId\": \"call_1\", \"approved\": true}");
        await AssertProblemAsync(response, HttpStatusCode.NotFound, field: null);
    }

    /// <summary>
    /// The whole exchange: the job waits in AwaitingApproval showing the call; an unknown call id is 404, the decision
    /// 202; a second decision of the same call 409; the job completes with the tool's answer and the decision recorded.
    /// </summary>
    [Fact]
    public async Task An_approved_call_runs_and_the_job_completes_with_the_decision_recorded()
    {
        var (id, callId) = await StartHeldAsync();

        using (var unknown = await DecideAsync(id, "{\"callId\": \"call_nope\", \"approved\": true}"))
        {
            await AssertProblemAsync(unknown, HttpStatusCode.NotFound, "callId");
        }

        using (var accepted = await DecideAsync(id, $"{{\"callId\": \"{callId}\", \"approved\": true, \"reason\": \"fine\", \"decidedBy\": \"carol\"}}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
            var body = await ReadJsonAsync(accepted);
            Assert.Equal(callId, body.GetProperty("callId").GetString());
            Assert.True(body.GetProperty("approved").GetBoolean());
        }

        var done = await WaitForAsync(id, s => IsFinished(s) || s.GetProperty("progress").TryGetProperty("decidedCallIds", out var d) && d.ValueKind == JsonValueKind.Array);
        if (!IsFinished(done))
        {
            using var again = await DecideAsync(id, $"{{\"callId\": \"{callId}\", \"approved\": false}}");
            await AssertProblemAsync(again, HttpStatusCode.Conflict, "callId");
        }

        var result = (await WaitForAsync(id, IsFinished)).GetProperty("result");
        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        Assert.Contains("42", result.GetProperty("reply").GetString(), StringComparison.Ordinal); // the tool's answer, in the reply
        var approval = Assert.Single(result.GetProperty("approvals").EnumerateArray());
        Assert.Equal((callId, true, "fine", "carol"), (approval.GetProperty("callId").GetString(), approval.GetProperty("approved").GetBoolean(),
            approval.GetProperty("reason").GetString(), approval.GetProperty("decidedBy").GetString()));
        Assert.True(result.GetProperty("agentDeleted").GetBoolean());

        // The event stream tells the held call, the decision and the call with its arguments, in that order (read from
        // activity inputs in history, which a host must keep: the Functions host does with storeInputsInOrchestrationHistory).
        var events = await ReadEventsAsync(id, null);
        var requested = events.FindIndex(e => e.Type == "approvalRequested" && e.Data.GetProperty("callId").GetString() == callId);
        var decided = events.FindIndex(e => e.Type == "approvalDecided" && e.Data.GetProperty("callId").GetString() == callId);
        var called = events.FindIndex(e => e.Type == "toolCall" && e.Data.GetProperty("callId").GetString() == callId);
        var answered = events.FindIndex(e => e.Type == "toolResult" && e.Data.GetProperty("callId").GetString() == callId);
        Assert.True(requested >= 0 && requested < decided && decided < called && called < answered,
            $"approvalRequested, approvalDecided, toolCall, toolResult expected in order; got: {string.Join(", ", events.Select(e => e.Type))}");
        Assert.Equal("calculate", events[requested].Data.GetProperty("tool").GetString());
        Assert.True(events[decided].Data.GetProperty("approved").GetBoolean());
        Assert.Contains("6 * 7", events[called].Data.GetRawText(), StringComparison.Ordinal);
        Assert.Contains("42", events[answered].Data.GetRawText(), StringComparison.Ordinal);

        using var late = await DecideAsync(id, $"{{\"callId\": \"{callId}\", \"approved\": true}}");
        await AssertProblemAsync(late, HttpStatusCode.Conflict, field: null);
    }

    /// <summary>A rejection reaches the model, which answers with it; nothing pending afterwards is 409.</summary>
    [Fact]
    public async Task A_rejected_call_is_answered_by_the_model_and_the_agent_is_deleted()
    {
        var (id, callId) = await StartHeldAsync("{\"tools\": [\"*\"], \"timeoutSeconds\": 120, \"onTimeout\": \"cancel\"}");

        using (var rejected = await DecideAsync(id, $"{{\"callId\": \"{callId}\", \"approved\": false, \"reason\": \"not now\"}}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, rejected.StatusCode);
        }

        var result = (await WaitForAsync(id, IsFinished)).GetProperty("result");
        Assert.Equal("Completed", result.GetProperty("outcome").GetString());
        Assert.Contains("rejected by the user: not now", result.GetProperty("reply").GetString(), StringComparison.Ordinal);
        Assert.False(await Host.AgentExistsAsync(result.GetProperty("agentId").GetString()!, Token));
    }

    /// <summary>A job with nothing waiting for approval: a decision is 409.</summary>
    [Fact]
    public async Task A_decision_while_nothing_waits_gets_409()
    {
        var id = await StartAsync(Host.LongRunningPrompt);
        try
        {
            await WaitForAsync(id, IsPolling);
            using var response = await DecideAsync(id, "{\"callId\": \"call_1\", \"approved\": true}");
            await AssertProblemAsync(response, HttpStatusCode.Conflict, "callId");
        }
        finally
        {
            await CancelAndWaitAsync(id);
        }
    }
}
