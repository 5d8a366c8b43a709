using AgentJobs.Contracts;

namespace AgentJobs.Application;

/// <summary>
/// A job's server-side policy, settled once at the edge — the API's start handler and the local <c>run</c> verb —
/// from options validated at startup: the configured model deployment (<c>AgentService__Model</c>) and the
/// quickstart's defaults fill whatever the request leaves out. The settled spec (<see cref="AgentJobSpec"/>) is the orchestration input, so
/// replays, restarts and other workers see exactly the values the job was accepted with, whatever the
/// configuration says later.
/// </summary>
/// <param name="defaultModel">The model deployment for jobs that name none.</param>
/// <param name="limits">Server-side limits; <c>MaxTotalTokensLimit</c> is also the token budget of jobs that set none.</param>
public sealed class AgentJobPolicy(string defaultModel, AgentJobsApiOptions? limits = null)
{
    readonly AgentJobsApiOptions limits = limits ?? new AgentJobsApiOptions();

    /// <summary>The model deployment for jobs that name none.</summary>
    public string DefaultModel { get; } = string.IsNullOrWhiteSpace(defaultModel)
        ? throw new ArgumentException("A default model deployment is required.", nameof(defaultModel))
        : defaultModel;

    /// <summary>The request with every optional setting filled in: the spec the job runs with.</summary>
    public AgentJobSpec Settle(AgentJobRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var polling = request.Polling ?? PollingSettings.Default;
        return new AgentJobSpec(
            Prompt: request.Prompt,
            Instructions: request.Instructions ?? AgentJobDefaults.Instructions,
            Model: request.Model ?? DefaultModel,
            AgentName: request.AgentName ?? AgentJobDefaults.AgentName,
            Tools: request.Tools ?? [],
            ThreadId: request.ThreadId,
            DeleteThread: request.DeleteThread,
            MaxDurationSeconds: request.MaxDurationSeconds ?? Math.Min(AgentJobDefaults.MaxDurationSeconds, limits.MaxDurationSecondsLimit),
            Polling: polling.StreamWindowSeconds is null ? polling with { StreamWindowSeconds = limits.StreamWindowSeconds } : polling,
            CancelGraceSeconds: request.CancelGraceSeconds ?? AgentJobDefaults.CancelGraceSeconds,
            MaxToolRounds: request.MaxToolRounds ?? Math.Min(AgentJobDefaults.MaxToolRounds, limits.MaxToolRoundsLimit),
            MaxTotalTokens: request.MaxTotalTokens ?? limits.MaxTotalTokensLimit,
            Approval: request.Approval is { } approval
                ? approval with { TimeoutSeconds = approval.TimeoutSeconds ?? ApprovalPolicy.DefaultTimeoutSeconds, OnTimeout = approval.OnTimeout ?? ApprovalTimeoutAction.Reject }
                : null);
    }
}
