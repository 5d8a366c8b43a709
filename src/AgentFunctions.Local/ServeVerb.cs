using AgentJobs.Http;

namespace AgentFunctions.Local;

/// <summary>The <c>serve</c> verb: the HTTP API until Ctrl+C.</summary>
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
                Console.Out.WriteLine($"Agent jobs API:  {new Uri(url, AgentJobsApi.RoutePrefix)}");
                Console.Out.WriteLine($"MCP endpoint:    {new Uri(url, LocalHost.McpPath)} (Streamable HTTP: start_agent_job, get_agent_job, cancel_agent_job)");
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
        }

        return 0;
    }
}
