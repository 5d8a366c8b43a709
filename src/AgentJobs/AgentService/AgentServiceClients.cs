using System.ClientModel;
using System.ClientModel.Primitives;
using AgentJobs.Configuration;
using Azure.Core;
using OpenAI.Assistants;

namespace AgentJobs.AgentService;

/// <summary>
/// Builds SDK clients for an <see cref="AgentServiceEndpoint"/>: an API key when one is configured, otherwise
/// a Microsoft Entra token from the given credential (DefaultAzureCredential; managed identity in Azure),
/// plus the <c>api-version</c> query that Foundry project endpoints require.
/// </summary>
public static class AgentServiceClients
{
    /// <summary>Creates the Assistants client used by the classic adapter.</summary>
    /// <param name="endpoint">The resolved endpoint.</param>
    /// <param name="credential">The Entra credential, used when no key is configured.</param>
    /// <param name="transport">An HTTP transport to use instead of the default (proxies, diagnostics, tests).</param>
    public static AssistantClient CreateAssistantClient(AgentServiceEndpoint endpoint, TokenCredential credential, PipelineTransport? transport = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var options = new AssistantClientOptions { Endpoint = endpoint.BaseUri, NetworkTimeout = endpoint.NetworkTimeout };
        if (transport is not null)
        {
            options.Transport = transport;
        }

        ConfigureOptions(options, endpoint);
        return new AssistantClient(CreateAuthenticationPolicy(endpoint, credential), options);
    }

    /// <summary>
    /// Creates the Foundry adapter: Responses and Conversations on <c>{project}/openai/v1</c> (no api-version),
    /// agent versions on the project endpoint with its api-version.
    /// </summary>
    /// <param name="endpoint">The resolved endpoint (a project endpoint).</param>
    /// <param name="credential">The Entra credential, used when no key is configured.</param>
    /// <param name="transport">An HTTP transport to use instead of the default (proxies, diagnostics, tests).</param>
    public static Foundry.FoundryAgentService CreateFoundryAgentService(AgentServiceEndpoint endpoint, TokenCredential credential, PipelineTransport? transport = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var openAIBase = new Uri(endpoint.BaseUri.AbsoluteUri.TrimEnd('/') + "/openai/v1");
        var responsesOptions = new OpenAI.Responses.ResponsesClientOptions { Endpoint = openAIBase, NetworkTimeout = endpoint.NetworkTimeout };
        var conversationOptions = new OpenAI.Conversations.ConversationClientOptions { Endpoint = openAIBase, NetworkTimeout = endpoint.NetworkTimeout };
        var agentOptions = new ClientPipelineOptions { NetworkTimeout = endpoint.NetworkTimeout };
        responsesOptions.RetryPolicy = conversationOptions.RetryPolicy = NoRetries;
        if (transport is not null)
        {
            responsesOptions.Transport = conversationOptions.Transport = agentOptions.Transport = transport;
        }

        var responses = new OpenAI.Responses.ResponsesClient(CreateAuthenticationPolicy(endpoint, credential), responsesOptions);
        var conversations = new OpenAI.Conversations.ConversationClient(CreateAuthenticationPolicy(endpoint, credential), conversationOptions);

        ConfigureOptions(agentOptions, endpoint);
        var pipeline = ClientPipeline.Create(agentOptions, [], [CreateAuthenticationPolicy(endpoint, credential)], []);
        return new Foundry.FoundryAgentService(responses, conversations, new Foundry.FoundryAgentsClient(pipeline, endpoint.BaseUri));
    }

    /// <summary>
    /// The SDK clients' own retry policy, turned off: retries are durable (<see cref="Workflow.AgentJobRetry"/>), so
    /// they survive restarts, honour the job's deadline and cancel, and count once. With the SDK's default (3
    /// retries inside every attempt), one activity could make 20 calls and end in an error the workflow did not
    /// recognise as transient.
    /// </summary>
    static ClientRetryPolicy NoRetries { get; } = new(maxRetries: 0);

    /// <summary>Adds the per-call policies every client of this endpoint needs, and turns the SDK's retries off.</summary>
    public static void ConfigureOptions(ClientPipelineOptions options, AgentServiceEndpoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(endpoint);
        options.RetryPolicy = NoRetries;
        if (endpoint.ApiVersion is { } version)
        {
            options.AddPolicy(new ApiVersionPolicy(version), PipelinePosition.PerCall);
        }
    }

    /// <summary>The key or token policy for the endpoint.</summary>
    public static AuthenticationPolicy CreateAuthenticationPolicy(AgentServiceEndpoint endpoint, TokenCredential credential)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        if (endpoint.ApiKey is { } key)
        {
            return endpoint.UsesAzureKeyHeader
                ? ApiKeyAuthenticationPolicy.CreateHeaderApiKeyPolicy(new ApiKeyCredential(key), "api-key")
                : ApiKeyAuthenticationPolicy.CreateBearerAuthorizationPolicy(new ApiKeyCredential(key));
        }

        ArgumentNullException.ThrowIfNull(credential);
        return new BearerTokenPolicy(credential, endpoint.TokenScope);
    }

    /// <summary>Appends <c>api-version</c> to every request that lacks it.</summary>
    sealed class ApiVersionPolicy(string version) : PipelinePolicy
    {
        public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            AddVersion(message);
            ProcessNext(message, pipeline, currentIndex);
        }

        public override ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
        {
            AddVersion(message);
            return ProcessNextAsync(message, pipeline, currentIndex);
        }

        void AddVersion(PipelineMessage message)
        {
            var uri = message.Request.Uri!;
            if (uri.Query.Contains("api-version=", StringComparison.Ordinal))
            {
                return;
            }

            var separator = string.IsNullOrEmpty(uri.Query) ? "?" : "&";
            message.Request.Uri = new Uri(uri.AbsoluteUri + separator + "api-version=" + Uri.EscapeDataString(version));
        }
    }
}
