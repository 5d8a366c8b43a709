using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using LocalAgentService;

namespace AgentFunctions.Local.Tests;

/// <summary>A session that ends while starting is not answered 201: there is nothing to talk to.</summary>
public class ServeSessionStartTests
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_session_whose_agent_the_service_refuses_gets_502_problem_naming_why_and_stays_readable_as_ended()
    {
        await using var host = await LocalHost.StartServeAsync(new LocalHostOptions { Urls = "http://127.0.0.1:0", LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning });
        host.EmbeddedAgentService!.AddFault(new FaultRule { Operation = "create-assistant", Mode = "400", Count = 1 });
        using var http = new HttpClient { BaseAddress = host.Urls[0] };

        using var response = await http.PostAsJsonAsync("api/agent-sessions", new { instructions = "Be brief." }, Token);

        var text = await response.Content.ReadAsStringAsync(Token);
        Assert.True(response.StatusCode == HttpStatusCode.BadGateway, $"answered {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        var detail = problem.RootElement.GetProperty("detail").GetString()!;
        Assert.Contains("ended while starting", detail, StringComparison.Ordinal);
        Assert.Contains("injected fault 400", detail, StringComparison.Ordinal); // the service's own message
        Assert.Null(response.Headers.Location);

        // The ended session is still there to read.
        var link = detail[(detail.LastIndexOf("GET ", StringComparison.Ordinal) + 4)..].TrimEnd('.');
        var session = await http.GetFromJsonAsync<JsonElement>(link, Token);
        Assert.Equal("ended", session.GetProperty("status").GetString());
        Assert.Equal(0, (await host.EmbeddedAgentService.GetStatsAsync()).Assistants);
    }
}
