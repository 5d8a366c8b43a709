using AgentJobs.AgentService;
using AgentJobs.AgentService.Classic;
using AgentJobs.Configuration;
using AgentJobs.Tests.Support;
using static AgentJobs.Tests.Support.LocalServiceJobs;

namespace AgentJobs.Tests;

/// <summary>
/// Activities run at least once. Both adapters, against the local agent service: a retried start (its first answer
/// lost) adds the user's message and starts the run once; a new job with the same text on the same thread is a new
/// message, never mistaken for a retry.
/// </summary>
public class AdapterIdempotencyTests
{
    [Theory]
    [MemberData(nameof(Protocols), MemberType = typeof(LocalServiceJobs))]
    public async Task A_retried_start_adds_the_message_once_and_a_new_job_with_the_same_text_adds_it_again(string protocol)
    {
        await using var server = await StartServerAsync();
        var ct = TestContext.Current.CancellationToken;
        var endpoint = AgentServiceEndpoint.Resolve(new AgentServiceOptions { Protocol = protocol, Endpoint = server.ProjectEndpoint.ToString(), ApiKey = Key });
        IAgentService service = protocol == AgentProtocols.Foundry
            ? AgentServiceClients.CreateFoundryAgentService(endpoint, null!)
            : new ClassicAgentService(AgentServiceClients.CreateAssistantClient(endpoint, null!));
        var agent = await service.CreateAgentAsync(
            new AgentDefinition("idem", "gpt-4o-mini", "You are a helpful agent", [], new Dictionary<string, string>()), "job-a:agent", ct);
        var thread = await service.CreateThreadAsync("job-a:thread", ct);

        var first = await service.StartRunAsync(agent, thread, "Hello", "job-a:run", TimeSpan.Zero, ct);
        var retried = await service.StartRunAsync(agent, thread, "Hello", "job-a:run", TimeSpan.Zero, ct);
        Assert.Equal(first.RunId, retried.RunId);
        await EndAsync(service, first);

        var second = await service.StartRunAsync(agent, thread, "Hello", "job-b:run", TimeSpan.Zero, ct);
        Assert.NotEqual(first.RunId, second.RunId);
        await EndAsync(service, second);

        var users = (await service.ListMessagesAsync(thread, ct)).Where(m => m.Role == "user").ToList();
        Assert.Equal(2, users.Count);
        Assert.All(users, m => Assert.Equal("Hello", m.Text));
        Assert.Equal(2, (await service.ListMessagesAsync(thread, ct)).Count(m => m.Role == "assistant"));
        Assert.True(await service.DeleteAgentAsync(agent, ct));
    }

    static async Task EndAsync(IAgentService service, RunState run)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!run.IsTerminal)
        {
            Assert.True(DateTime.UtcNow < until, $"run {run.RunId} stayed {run.RawStatus}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
            run = await service.GetRunAsync(run.Ref, TestContext.Current.CancellationToken);
        }

        Assert.Equal(AgentRunStatus.Completed, run.Status);
    }
}
