using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AgentJobs.AgentService.Foundry;

/// <summary>
/// The agent-definition calls of the Foundry Agent Service (<c>{project}/agents/{name}/versions?api-version=v1</c>),
/// the only part of the protocol the OpenAI SDK does not cover. Written on System.ClientModel's pipeline so it
/// shares the SDK clients' authentication, retries and error type.
/// </summary>
public sealed class FoundryAgentsClient
{
    static readonly PipelineMessageClassifier Success = PipelineMessageClassifier.Create(stackalloc ushort[] { 200, 201 });

    readonly ClientPipeline pipeline;
    readonly Uri projectEndpoint;

    /// <summary>Creates the client; the pipeline must add authentication and the <c>api-version</c> query.</summary>
    public FoundryAgentsClient(ClientPipeline pipeline, Uri projectEndpoint)
    {
        this.pipeline = pipeline ?? throw new ArgumentNullException(nameof(pipeline));
        ArgumentNullException.ThrowIfNull(projectEndpoint);
        this.projectEndpoint = new Uri(projectEndpoint.AbsoluteUri.TrimEnd('/') + "/");
    }

    /// <summary>Creates a version of a prompt agent; returns its version string.</summary>
    public async Task<string> CreateVersionAsync(string name, JsonObject body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(body);
        using var response = await SendAsync("POST", $"agents/{Uri.EscapeDataString(name)}/versions", BinaryData.FromString(body.ToJsonString()), cancellationToken);
        using var doc = JsonDocument.Parse(response.Content.ToMemory());
        return doc.RootElement.TryGetProperty("version", out var version)
            ? version.ValueKind == JsonValueKind.String ? version.GetString()! : version.GetRawText()
            : throw new AgentServiceException($"create agent version: the service's answer has no 'version' ({Truncate(response.Content.ToString())}).");
    }

    /// <summary>Deletes an agent and all its versions.</summary>
    public async Task DeleteAgentAsync(string name, CancellationToken cancellationToken)
    {
        using var response = await SendAsync("DELETE", $"agents/{Uri.EscapeDataString(name)}", null, cancellationToken);
    }

    async Task<PipelineResponse> SendAsync(string method, string path, BinaryData? body, CancellationToken cancellationToken)
    {
        using var message = pipeline.CreateMessage();
        message.ResponseClassifier = Success;
        message.Apply(new RequestOptions { CancellationToken = cancellationToken });
        var request = message.Request;
        request.Method = method;
        request.Uri = new Uri(projectEndpoint, path);
        request.Headers.Set("Accept", "application/json");
        if (body is not null)
        {
            request.Headers.Set("Content-Type", "application/json");
            request.Content = BinaryContent.Create(body);
        }

        await pipeline.SendAsync(message);
        var response = message.Response!;
        if (response.IsError)
        {
            throw new ClientResultException(response);
        }

        return message.ExtractResponse()!;
    }

    static string Truncate(string s) => s.Length <= 200 ? s : s[..200] + "…";
}
