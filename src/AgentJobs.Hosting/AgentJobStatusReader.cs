using AgentJobs.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.DurableTask.Client;

namespace AgentJobs.Hosting;

/// <summary>
/// Reads a job's status in-process through the very handler the HTTP API serves (<see cref="AgentJobsApi.GetAsync"/>),
/// so a console host shows the same progress (phase, run status, live poll count from the poller) as <c>GET</c> does.
/// </summary>
public sealed class AgentJobStatusReader(AgentJobsApi api, DurableTaskClient client)
{
    static readonly HostString LocalHost = new("localhost");

    /// <summary>The job's status, or null when no such job exists.</summary>
    public async Task<AgentJobStatus?> ReadAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var context = new DefaultHttpContext();
        context.Request.Scheme = "http";
        context.Request.Host = LocalHost;
        var result = await api.GetAsync(context.Request, jobId, client, cancellationToken).ConfigureAwait(false);
        return result is IValueHttpResult<AgentJobStatus> { Value: { } status } ? status : null;
    }
}
