using AgentJobs.AgentService;
using AgentJobs.Contracts;
using AgentJobs.Deltas;
using AgentJobs.Telemetry;
using AgentJobs.Tools;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;

namespace AgentJobs.Workflow;

/// <summary>
/// The workflow's activities: one per agent-service call, plus one that runs a function tool. Each is a thin,
/// idempotent step (they run at least once): creates carry an idempotency key, deletes treat "not found" as done.
/// Hosts register them under these method names (see <see cref="AgentJobTasks"/>). Each agent-service operation is
/// timed (<see cref="AgentJobsTelemetry.ServiceCallDurationMetric"/>); creating the agent and running a tool get their
/// GenAI spans; prompt, reply, instructions and tool content go on spans only when <paramref name="telemetry"/> says so.
/// </summary>
/// <remarks>The streamed calls (<see cref="StartRun"/>, <see cref="SubmitToolOutputs"/>) forward the text they read to
/// <paramref name="deltaLog"/>, when the host has one, through a <see cref="DeltaWriter"/>.</remarks>
public sealed class AgentJobActivities(
    IAgentService service, AgentToolRegistry tools, ILogger<AgentJobActivities> logger, AgentJobsTelemetryOptions telemetry,
    IDeltaLog? deltaLog = null, DeltaLogOptions? deltaOptions = null)
{
    /// <summary>
    /// Creates the job's agent with its function tools; MCP tools (<c>server/tool</c>) are read from their servers'
    /// <c>tools/list</c> first, so an unreachable server or an unknown tool fails here, before an agent exists.
    /// </summary>
    public async Task<AgentRef> CreateAgent(CreateAgentInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        using var span = AgentJobsTelemetry.StartCreateAgent(input.Name, input.Model, input.Instructions, telemetry.CaptureMessageContent);
        var definition = new AgentDefinition(
            input.Name,
            input.Model,
            input.Instructions,
            await tools.GetSpecsAsync(input.ToolNames, CancellationToken.None),
            new Dictionary<string, string>(StringComparer.Ordinal) { ["agentfunctions_job"] = input.JobId });
        var agent = await Measure(nameof(CreateAgent), () => service.CreateAgentAsync(definition, input.IdempotencyKey, CancellationToken.None));
        span?.SetTag(GenAIAttributes.AgentId, agent.Id);
        return agent;
    }

    /// <summary>Creates the thread.</summary>
    public Task<string> CreateThread(CreateThreadInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Measure(nameof(CreateThread), () => service.CreateThreadAsync(input.IdempotencyKey, CancellationToken.None));
    }

    /// <summary>Adds the user's message and starts the run, following its stream for the input's window (stream-first waiting).</summary>
    public Task<RunState> StartRun(StartRunInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        AgentJobsTelemetry.RecordInput(input.UserMessage, telemetry.CaptureMessageContent);
        return Streamed(input.StreamWindow, input.JobId, input.IdempotencyKey, () => Measure(nameof(StartRun), () => service.StartRunAsync(input.Agent, input.ThreadId, input.UserMessage, input.IdempotencyKey, input.StreamWindow, CancellationToken.None)));
    }

    /// <summary>Reads the run (one poll).</summary>
    public Task<RunState> GetRun(RunRef run) => Measure(nameof(GetRun), () => service.GetRunAsync(run, CancellationToken.None));

    /// <summary>Submits every tool output of a batch in one call, following the run's stream for the input's window.</summary>
    public Task<RunState> SubmitToolOutputs(SubmitToolOutputsInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Streamed(input.StreamWindow, input.JobId, input.IdempotencyKey, () => Measure(nameof(SubmitToolOutputs), () => service.SubmitToolOutputsAsync(input.Agent, input.Run, input.Outputs, input.IdempotencyKey, input.StreamWindow, CancellationToken.None)));
    }

    /// <summary>Stops the run and closes the tool calls it waits for.</summary>
    public Task<RunState> CancelRun(CancelRunInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Measure(nameof(CancelRun), () => service.CancelRunAsync(input.Run, input.Reason, CancellationToken.None));
    }

    /// <summary>
    /// Cancels the run a streamed call still in flight started (found by the call's key), so the stream that call
    /// follows ends with the cancel instead of holding the job for its window. While the call has not created its run
    /// yet, the run is looked for again every <see cref="StartedRunChaseInterval"/> for up to <see cref="StartedRunChaseFor"/>:
    /// a stop that arrives before the run exists must reach the run as soon as it does, or a short run completes first
    /// and the accepted cancel is lost (the orchestrator's next try is a durable timer a second later). Null when no run
    /// appeared meanwhile.
    /// </summary>
    public async Task<RunState?> CancelStartedRun(CancelStartedRunInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var chase = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            if (await Measure(nameof(CancelStartedRun), () => service.CancelStartedRunAsync(input.ThreadId, input.IdempotencyKey, input.Previous, input.Reason, CancellationToken.None)) is { } cancelled)
            {
                return cancelled;
            }

            if (chase.Elapsed >= StartedRunChaseFor)
            {
                return null;
            }

            await Task.Delay(StartedRunChaseInterval);
        }
    }

    /// <summary>How often <see cref="CancelStartedRun"/> looks for a run that does not exist yet.</summary>
    public static readonly TimeSpan StartedRunChaseInterval = TimeSpan.FromMilliseconds(50);

    /// <summary>How long <see cref="CancelStartedRun"/> looks for a run that does not exist yet before the orchestrator takes over.</summary>
    public static readonly TimeSpan StartedRunChaseFor = TimeSpan.FromSeconds(3);

    /// <summary>Answers the tool calls the thread still holds open, so the next job can continue it.</summary>
    public Task<int> CloseToolCalls(CloseToolCallsInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return Measure(nameof(CloseToolCalls), () => service.CloseOpenToolCallsAsync(input.ThreadId, input.Reason, CancellationToken.None));
    }

    /// <summary>Reads the thread's messages.</summary>
    public async Task<IReadOnlyList<JobMessage>> ListMessages(string threadId)
    {
        var messages = await Measure(nameof(ListMessages), () => service.ListMessagesAsync(threadId, CancellationToken.None));
        AgentJobsTelemetry.RecordOutput(messages, telemetry.CaptureMessageContent);
        return messages;
    }

    /// <summary>
    /// Reads the runs' steps, with each tool call's arguments and output cut to <see cref="ResultText.MaxToolTextLength"/>
    /// characters, so the result (and the history that stores it) stays small whatever the tools exchanged.
    /// </summary>
    public async Task<IReadOnlyList<JobRunStep>> ListRunSteps(ListRunStepsInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var steps = await Measure(nameof(ListRunSteps), () => service.ListRunStepsAsync(input.ThreadId, input.RunIds, CancellationToken.None));
        return [.. steps.Select(step => step with
        {
            ToolCalls = [.. step.ToolCalls.Select(call => call with { Arguments = ResultText.Cap(call.Arguments)!, Output = ResultText.Cap(call.Output) })],
        })];
    }

    /// <summary>Deletes the agent; true when this call deleted it, false when it was already gone.</summary>
    public async Task<bool> DeleteAgent(AgentRef agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var deleted = await Measure(nameof(DeleteAgent), () => service.DeleteAgentAsync(agent, CancellationToken.None));
        logger.AgentDeleted(agent.Id, deleted ? "deleted" : "was already gone");
        return deleted;
    }

    /// <summary>Deletes a thread the job created.</summary>
    public Task<bool> DeleteThread(string threadId) => Measure(nameof(DeleteThread), () => service.DeleteThreadAsync(threadId, CancellationToken.None));

    /// <summary>
    /// Announces a round of tool calls held for approval: recorded in history (the event stream shows it from there)
    /// and logged with the tools and call ids (never their arguments), so whoever watches the logs can act. Returns
    /// how many calls wait.
    /// </summary>
    public Task<int> RequestApprovals(RequestApprovalsInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        logger.ApprovalsRequested(input.JobId, input.Calls.Count, input.Calls.Min(c => c.ExpiresAt), string.Join(", ", input.Calls.Select(c => $"{c.Tool} ({c.CallId})")));
        return Task.FromResult(input.Calls.Count);
    }

    /// <summary>
    /// Runs one function tool; failures become an error output, not a failed activity, except transient failures
    /// of an MCP server, which throw <see cref="TransientAgentServiceException"/> so the call is retried. The
    /// orchestrator sets <see cref="ToolCallRequest.JobId"/> to its instance id, making the call's idempotency key.
    /// </summary>
    /// <remarks>
    /// The tool is given up, and an error output returned at once, when its job stops: at the job's deadline
    /// (<see cref="ToolCallRequest.StopAtUtc"/>), or, in <see cref="ExecuteWatchedTool"/> (what the hosts register), when the durable client shows the job stopping or ended (its
    /// status is read every <see cref="JobWatchFirstInterval"/>, growing to <see cref="JobWatchMaxInterval"/>). A Durable
    /// orchestration completes only once none of its activities is open, so without this a tool that hangs would hold a
    /// stopped job in Running until the tool's own timeout (100 s for an MCP server by default).
    /// </remarks>
    public Task<ToolOutput> ExecuteTool(ToolCallRequest call) => ExecuteWatchedTool(call, client: null);

    /// <summary><see cref="ExecuteTool(ToolCallRequest)"/>, watching the job through <paramref name="client"/> while the tool runs.</summary>
    public async Task<ToolOutput> ExecuteWatchedTool(ToolCallRequest call, DurableTaskClient? client)
    {
        ArgumentNullException.ThrowIfNull(call);
        using var span = AgentJobsTelemetry.StartExecuteTool(call, telemetry.CaptureMessageContent);
        using var giveUp = new CancellationTokenSource();
        if (call.StopAtUtc is { } stopAt)
        {
            var left = stopAt - DateTime.UtcNow;
            giveUp.CancelAfter(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        }

        ToolOutput output;
        try
        {
            var invoke = tools.InvokeAsync(call, giveUp.Token);
            var watch = client is null || call.JobId is null ? null : WatchJobAsync(client, call.JobId, giveUp);
            await Task.WhenAny(invoke, Task.Delay(Timeout.Infinite, giveUp.Token));
            if (!invoke.IsCompleted)
            {
                // Given up: the tool may go on in the background; its answer is no longer wanted.
                _ = invoke.ContinueWith(t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                logger.ToolCallGivenUp(call.Id, call.Name, call.JobId);
                output = new ToolOutput(call.Id, System.Text.Json.JsonSerializer.Serialize(new { error = new { code = "job_stopped", message = "not run to the end: the job stopped" } }), IsError: true);
                AgentJobsTelemetry.ToolCallEnded(span, call, output, telemetry.CaptureMessageContent);
                return output;
            }

            await giveUp.CancelAsync(); // ends the watch
            output = await invoke;
            if (watch is not null)
            {
                await watch;
            }
        }
        catch (Exception ex)
        {
            AgentJobsTelemetry.Failed(span, ex.GetType().Name); // a transient MCP failure, retried by the orchestrator
            throw;
        }

        AgentJobsTelemetry.ToolCallEnded(span, call, output, telemetry.CaptureMessageContent);
        if (output.IsError)
        {
            logger.ToolCallErrorOutput(call.Id, call.Name);
        }

        return output;
    }

    /// <summary>First interval at which a running tool reads its job's status.</summary>
    public static readonly TimeSpan JobWatchFirstInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Longest interval at which a running tool reads its job's status.</summary>
    public static readonly TimeSpan JobWatchMaxInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Cancels <paramref name="stop"/> when the job (or session turn) <paramref name="jobId"/> is stopping or over: its
    /// phase is past the tool round (<see cref="JobPhase.Cancelling"/> and after), it has ended, or it is gone. Returns
    /// when <paramref name="stop"/> is cancelled, by this or by the caller. A failed read is tried again at the next interval.
    /// </summary>
    async Task WatchJobAsync(DurableTaskClient client, string jobId, CancellationTokenSource stop)
    {
        var interval = JobWatchFirstInterval;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(interval, stop.Token);
                interval = TimeSpan.FromMilliseconds(Math.Min(JobWatchMaxInterval.TotalMilliseconds, interval.TotalMilliseconds * 1.5));
                try
                {
                    var job = await client.GetInstanceAsync(jobId, getInputsAndOutputs: true, stop.Token);
                    var phase = job?.SerializedCustomStatus is null ? null : job.ReadCustomStatusAs<JobProgress>()?.Phase;
                    if (job is null || job.IsCompleted || phase is JobPhase.Cancelling or JobPhase.CollectingResults or JobPhase.CleaningUp or JobPhase.Done)
                    {
                        await stop.CancelAsync();
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    logger.ToolJobReadFailed(ex, jobId);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopped
        }
    }

    static Task<T> Measure<T>(string operation, Func<Task<T>> call) => AgentJobsTelemetry.MeasureServiceCallAsync(operation, call);

    /// <summary>
    /// Notes on the state how long a call with a stream window held it. Measured here, not from orchestration time,
    /// because the activity may start well after it was scheduled (queue latency on Azure Storage): polling that
    /// takes over counts from the stream's real start, so its first poll is never early.
    /// </summary>
    /// <remarks>With a delta log and a job, the call's text deltas go to the log; every write has ended when the
    /// activity returns, so once its completion is in history the log holds all the call read.</remarks>
    async Task<RunState> Streamed(TimeSpan window, string? jobId, string callKey, Func<Task<RunState>> call)
    {
        if (window <= TimeSpan.Zero)
        {
            return await call();
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        DeltaWriter? writer = null;
        if (deltaLog is not null && jobId is not null)
        {
            try
            {
                writer = await DeltaWriter.OpenAsync(deltaLog, jobId, callKey, deltaOptions ?? new DeltaLogOptions(), logger, CancellationToken.None);
            }
            catch (Exception ex)
            {
                logger.DeltaLogNotRead(ex, callKey);
            }
        }

        RunState state;
        DeltaWriter.Current = writer;
        try
        {
            state = await call();
        }
        finally
        {
            DeltaWriter.Current = null;
            if (writer is not null)
            {
                await writer.DisposeAsync();
            }
        }

        return state with { StreamedMs = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds };
    }
}
