using AgentJobs.Contracts;
using AgentJobs.Workflow;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Application;

/// <summary>
/// Sends a person's decision on a held tool call to the orchestration that waits for it, after checking against its
/// status that the call does wait: the API, <c>run --approve</c> and sessions share this one check.
/// </summary>
public static class JobApprovals
{
    /// <summary>What became of a decision.</summary>
    public enum Outcome
    {
        /// <summary>Raised; the orchestration takes it in (the first decision of a call stands).</summary>
        Sent,

        /// <summary>No such job.</summary>
        UnknownJob,

        /// <summary>The job has ended.</summary>
        Finished,

        /// <summary>No call of the job waits for approval now.</summary>
        NothingPending,

        /// <summary>The call was already decided.</summary>
        AlreadyDecided,

        /// <summary>No waiting call has that id.</summary>
        UnknownCall,

        /// <summary>The job has not left Pending within <see cref="JobEvents.StartWait"/>; nothing was sent.</summary>
        NotStarted,
    }

    /// <summary>Checks the decision against the orchestration's status and raises it.</summary>
    /// <param name="client">The durable client.</param>
    /// <param name="instanceId">The orchestration that runs the tool round (a job, or a session's turn).</param>
    /// <param name="orchestratorName">The name the instance must have (anything else is <see cref="Outcome.UnknownJob"/>).</param>
    /// <param name="decision">The decision.</param>
    /// <param name="cancellationToken">Cancels the reads and the raise.</param>
    public static async Task<Outcome> SendAsync(
        DurableTaskClient client, string instanceId, string orchestratorName, ApprovalDecision decision, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(decision);
        // Custom status is only read with inputs and outputs.
        var instance = await client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, cancellationToken);
        if (instance is null || instance.Name != orchestratorName)
        {
            return Outcome.UnknownJob;
        }

        if (instance.IsCompleted)
        {
            return Outcome.Finished;
        }

        var progress = Progress(instance.SerializedCustomStatus);
        var pending = progress?.PendingApprovals ?? [];
        if (pending.Any(p => p.CallId == decision.CallId))
        {
            return await JobEvents.RaiseAsync(client, instanceId, AgentJobOrchestrator.ApprovalEventName, decision, cancellationToken) switch
            {
                JobEvents.RaiseResult.Raised => Outcome.Sent,
                JobEvents.RaiseResult.Ended => Outcome.Finished,
                _ => Outcome.NotStarted,
            };
        }

        return (progress?.DecidedCallIds ?? []).Contains(decision.CallId, StringComparer.Ordinal) ? Outcome.AlreadyDecided
            : pending.Count == 0 ? Outcome.NothingPending
            : Outcome.UnknownCall;
    }

    /// <summary>The calls waiting for approval in a status (empty when none or unreadable).</summary>
    public static IReadOnlyList<PendingApproval> Pending(string? serializedCustomStatus) => Progress(serializedCustomStatus)?.PendingApprovals ?? [];

    static JobProgress? Progress(string? json) => StoredJson.Deserialize<JobProgress>(json);
}
