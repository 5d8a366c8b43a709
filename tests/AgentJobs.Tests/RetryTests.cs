using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Tests.Support;
using AgentJobs.Workflow;
using Microsoft.DurableTask;

namespace AgentJobs.Tests;

/// <summary>Transient failures are retried with durable backoff honouring retry-after; others fail fast.</summary>
public class RetryTests
{
    [Fact]
    public async Task Throttled_reads_are_retried_no_sooner_than_the_services_retry_after()
    {
        await using var host = await WorkflowHost.StartAsync();
        var retryAfter = TimeSpan.FromSeconds(1.5);
        host.Service.Fail("GetRun", 2, () => new TransientAgentServiceException("Rate limit is exceeded.", 429, retryAfter));

        var result = await host.RunJobAsync(WorkflowHost.Job());

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        var times = host.Service.Times("GetRun");
        Assert.Equal(2 + 3, times.Count); // two throttled reads, then the script's three
        Assert.True(times[1] - times[0] >= retryAfter, $"first retry after {(times[1] - times[0]).TotalMilliseconds:0} ms");
        Assert.True(times[2] - times[1] >= retryAfter, $"second retry after {(times[2] - times[1]).TotalMilliseconds:0} ms");
        host.AssertAgentCleanedUp(result);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    public async Task A_server_error_is_retried(int status)
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Fail("StartRun", 1, () => new TransientAgentServiceException($"HTTP {status}", status));

        var result = await host.RunJobAsync(WorkflowHost.Job());

        Assert.Equal(JobOutcome.Completed, result.Outcome);
        Assert.Equal(2, host.Service.Count("StartRun"));
        var times = host.Service.Times("StartRun");
        Assert.True(times[1] - times[0] >= AgentJobRetry.FirstRetryInterval, "retried before the first backoff interval");
    }

    [Theory]
    [InlineData("StartRun")]
    [InlineData("GetRun")]
    [InlineData("SubmitToolOutputs")]
    public async Task A_non_transient_error_fails_fast_with_the_services_message(string operation)
    {
        await using var host = await WorkflowHost.StartAsync();
        host.Service.Script = _ => [ScriptStep.Tools(new ToolCallRequest("call_1", "calculate", """{"expression":"1+1"}""")), ScriptStep.Of("completed")];
        host.Service.Fail(operation, 1, () => new AgentServiceException("Invalid 'tool_outputs': bad request.", 400, "invalid_request_error"));

        var result = await host.RunJobAsync(WorkflowHost.Job() with { Tools = ["calculate"] });

        Assert.Equal(JobOutcome.Failed, result.Outcome);
        Assert.Equal("agent_service_error", result.Failure!.Code);
        Assert.Contains("Invalid 'tool_outputs': bad request.", result.Failure.Message, StringComparison.Ordinal);
        Assert.Equal(1, host.Service.Count(operation));
        host.AssertAgentCleanedUp(result);
    }

    [Theory]
    [InlineData(1, null, 1)]
    [InlineData(2, null, 2)]
    [InlineData(3, null, 4)]
    [InlineData(10, null, 30)]
    [InlineData(1, 1.5, 1.5)]
    [InlineData(3, 1.5, 4)]
    [InlineData(1, 45.0, 45)]
    public void Delay_is_exponential_capped_and_never_sooner_than_retry_after(int attempt, double? retryAfterSeconds, double expectedSeconds)
    {
        var retryAfter = retryAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : (TimeSpan?)null;
        Assert.Equal(TimeSpan.FromSeconds(expectedSeconds), AgentJobRetry.Delay(attempt, retryAfter));
    }

    [Fact]
    public void Retry_after_round_trips_through_the_exception_message()
    {
        var ex = new TransientAgentServiceException("Rate limit is exceeded.", 429, TimeSpan.FromMilliseconds(1500.2));

        Assert.Equal(TimeSpan.FromMilliseconds(1501), TransientAgentServiceException.ParseRetryAfter(ex.Message));
        Assert.StartsWith("Rate limit is exceeded.", ex.Message, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromMilliseconds(1500.2), ex.RetryAfter);
        Assert.Null(TransientAgentServiceException.ParseRetryAfter(new TransientAgentServiceException("no hint", 503).Message));
        Assert.Null(TransientAgentServiceException.ParseRetryAfter(null));
    }

    [Fact]
    public void Only_transient_failures_are_retryable()
    {
        Assert.True(AgentJobRetry.IsTransient(TaskFailureDetails.FromException(new TransientAgentServiceException("busy", 503))));
        Assert.False(AgentJobRetry.IsTransient(TaskFailureDetails.FromException(new AgentServiceException("bad", 400))));
        Assert.False(AgentJobRetry.IsTransient(TaskFailureDetails.FromException(new InvalidOperationException("bug"))));
    }
}
