using AgentJobs.Application;
using AgentJobs.Http;
using AgentJobs.Sessions;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AgentFunctions.Local;

/// <summary>The <c>serve</c> verb: the HTTP API until Ctrl+C or SIGTERM; on the in-memory backend, running jobs are cancelled and cleaned up first.</summary>
internal static class ServeVerb
{
    public static async Task<int> RunAsync(LocalHostOptions options, CancellationToken cancellationToken)
    {
        if (await Terminal.StartOrFailAsync(() => LocalHost.StartServeAsync(options, cancellationToken), options.Verbose).ConfigureAwait(false) is not { } host)
        {
            return Cli.ConfigurationError;
        }

        await using (host.ConfigureAwait(false))
        {
            foreach (var url in host.Urls)
            {
                Console.Out.WriteLine($"Dashboard:       {url}{(host.KeyRequired ? $" (add ?{ServeKey.Query}=<key>)" : "")}");
                Console.Out.WriteLine($"Agent jobs API:  {new Uri(url, AgentJobsApi.RoutePrefix)}");
                Console.Out.WriteLine($"MCP endpoint:    {new Uri(url, LocalHost.McpPath)} (Streamable HTTP: job and session tools)");
            }

            Console.Out.WriteLine(host.KeyRequired
                ? $"Key:             required on every request ({ServeKey.Header} header or ?{ServeKey.Query}=, the value of {ServeKey.EnvironmentName})"
                : $"Key:             none (loopback only; set {ServeKey.EnvironmentName} to require one)");
            Console.Out.WriteLine($"Durable backend: {host.Backend.Describe()}");
            Console.Out.WriteLine(host.EmbeddedAgentService is { } embedded
                ? $"Agent service:   {host.AgentService.BaseUri} ({host.AgentService.Protocol}; embedded, simulated model; stats at {new Uri(embedded.BaseAddress, "admin/stats")}, key set by LocalAgentService__ApiKey or generated)"
                : $"Agent service:   {host.AgentService.BaseUri} ({host.AgentService.Protocol})");
            Console.Out.WriteLine("Press Ctrl+C to stop.");
            Console.Out.Flush();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: stop cleanly.
            }

            if (!host.Backend.UsesStorage)
            {
                await DrainAsync(host).ConfigureAwait(false);
            }
        }

        return 0;
    }

    /// <summary>How long stopping an in-memory <c>serve</c> waits for its cancelled jobs to delete their agents.</summary>
    static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The in-memory backend's state ends with the process, and with it any job or session still running, whose agent
    /// would be left on the service. So before stopping, every running job is cancelled and every open session ended,
    /// and together they get up to <see cref="DrainTimeout"/> to clean up. (With <c>--storage</c> they resume when serve
    /// starts again.)
    /// </summary>
    static async Task DrainAsync(LocalHost host)
    {
        using var timeout = new CancellationTokenSource(DrainTimeout);
        var jobsClient = new AgentJobsClient(host.Client, host.Services.GetRequiredService<AgentJobPolicy>());
        var sessionsClient = new AgentSessionsClient(host.Client);
        var open = new OrchestrationQuery
        {
            Statuses = [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending],
            FetchInputsAndOutputs = true,
        };
        var jobs = new List<string>();
        await foreach (var job in jobsClient.ListAsync(open, timeout.Token).ConfigureAwait(false))
        {
            jobs.Add(job.InstanceId);
        }

        var sessions = new List<OrchestrationMetadata>();
        await foreach (var session in sessionsClient.ListAsync(open, timeout.Token).ConfigureAwait(false))
        {
            sessions.Add(session);
        }

        if (jobs.Count + sessions.Count == 0)
        {
            return;
        }

        Console.Out.WriteLine(
            $"Stopping: cancelling {jobs.Count} running job(s) and ending {sessions.Count} session(s) so their agents are deleted (at most {DrainTimeout.TotalSeconds:0} s)...");
        try
        {
            var stopping = jobs.Select(async id =>
            {
                await jobsClient.CancelAsync(id, "serve is stopping", timeout.Token).ConfigureAwait(false);
                await jobsClient.WaitForEndAsync(id, timeout.Token).ConfigureAwait(false);
            }).Concat(sessions.Select(async session =>
            {
                var running = session.ReadCustomStatusAs<SessionProgress>()?.RunningTurn;
                await sessionsClient.EndAsync(session.InstanceId, "serve is stopping", running, timeout.Token).ConfigureAwait(false);
                await sessionsClient.WaitForEndAsync(session.InstanceId, timeout.Token).ConfigureAwait(false);
            }));
            await Task.WhenAll(stopping).ConfigureAwait(false);
            Console.Out.WriteLine("Stopping: every running job and session was stopped and cleaned up.");
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"warning: some jobs or sessions did not finish cleaning up within {DrainTimeout.TotalSeconds:0} s; their agents may be left on the service.");
        }
    }
}
