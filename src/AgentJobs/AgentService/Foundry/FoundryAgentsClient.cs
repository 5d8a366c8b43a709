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

    /// <summary>
    /// Finds the conversation's response whose metadata has <paramref name="key"/> = <paramref name="value"/> among
    /// its newest <see cref="RecentResponses"/> (<c>GET {project}/openai/v1/responses?conversation_id=…&amp;order=desc</c>,
    /// Foundry's list-responses operation). Null when there is none, or when the service does not offer the
    /// listing (400/404/405): the caller then creates, as it would have without the look-up.
    /// </summary>
    /// <returns>The response object as JSON; the caller disposes it.</returns>
    public async Task<JsonDocument?> FindResponseAsync(string conversationId, string key, string value, CancellationToken cancellationToken)
    {
        PipelineResponse response;
        try
        {
            response = await SendAsync(
                "GET", $"openai/v1/responses?conversation_id={Uri.EscapeDataString(conversationId)}&order=desc&limit={RecentResponses}", null, cancellationToken);
        }
        catch (ClientResultException ex) when (ex.Status is 400 or 404 or 405)
        {
            return null;
        }

        using (response)
        {
            using var doc = JsonDocument.Parse(response.Content.ToMemory());
            if (!doc.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            foreach (var item in data.EnumerateArray())
            {
                if (item.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object &&
                    metadata.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() == value)
                {
                    return JsonDocument.Parse(item.GetRawText());
                }
            }

            return null;
        }
    }

    /// <summary>How many of a conversation's newest responses a look-up reads (a job makes one per tool round).</summary>
    public const int RecentResponses = 20;

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
