using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using OpenAI.Responses;

namespace LocalAgentService.Tests;

/// <summary>Foundry-protocol helpers: agent versions with given tools, the SDK's ResponsesClient, background responses for a named agent.</summary>
internal static class FoundrySupport
{
    public static ResponsesClient Responses(LocalAgentServer server) =>
        new(ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(Support.Key)),
            new ResponsesClientOptions { Endpoint = new Uri(server.ProjectEndpoint + "/openai/v1"), NetworkTimeout = TimeSpan.FromSeconds(30) });

    /// <summary>Creates version 1 of a prompt agent with <paramref name="toolsJson"/> (an array of Responses function tools).</summary>
    public static async Task CreateAgentAsync(LocalAgentServer server, string name, string model, string toolsJson)
    {
        using var http = Support.Http(server);
        var body = new { definition = new { kind = "prompt", model, tools = JsonDocument.Parse(toolsJson).RootElement } };
        var result = await Support.PostAsync(http, $"api/projects/local/agents/{name}/versions?api-version=v1", body);
        Assert.Equal(200, result.Status);
    }

    /// <summary>A background response for a named agent, the reference set through the options' JSON patch as the Foundry extension does.</summary>
    public static CreateResponseOptions AgentOptions(string agent, params ResponseItem[] input)
    {
        var options = new CreateResponseOptions { BackgroundModeEnabled = true };
        foreach (var item in input)
        {
            options.InputItems.Add(item);
        }

        options.Patch.Set("$.agent_reference"u8, BinaryData.FromString($$"""{"type":"agent_reference","name":"{{agent}}"}"""));
        return options;
    }

    /// <summary>Creates the response and polls it until it leaves queued/in_progress (bounded deadline).</summary>
    public static async Task<ResponseResult> RunAsync(ResponsesClient client, CreateResponseOptions options)
    {
        ResponseResult response = await client.CreateResponseAsync(options);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (response.Status is ResponseStatus.Queued or ResponseStatus.InProgress)
        {
            Assert.True(DateTime.UtcNow < deadline, $"response {response.Id} stuck in {response.Status}");
            await Task.Delay(15);
            response = await client.GetResponseAsync(response.Id);
        }

        return response;
    }
}
