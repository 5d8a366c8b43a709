namespace AgentJobs.Telemetry;

/// <summary>
/// Attribute names and values of the OpenTelemetry GenAI semantic conventions (development status, the names of
/// semantic-conventions <c>docs/gen-ai/gen-ai-agent-spans.md</c> and <c>gen-ai-metrics.md</c>) that agent jobs
/// emit, plus the few <c>agentjobs.*</c> attributes of our own. One place, so a convention rename is one edit.
/// </summary>
public static class GenAIAttributes
{
    /// <summary><c>gen_ai.operation.name</c>: <see cref="CreateAgent"/>, <see cref="InvokeAgent"/> or <see cref="ExecuteTool"/>.</summary>
    public const string OperationName = "gen_ai.operation.name";

    /// <summary><c>gen_ai.provider.name</c>: always <see cref="AzureAIOpenAI"/> here.</summary>
    public const string ProviderName = "gen_ai.provider.name";

    /// <summary><c>gen_ai.request.model</c>: the model deployment the agent was created with.</summary>
    public const string RequestModel = "gen_ai.request.model";

    /// <summary><c>gen_ai.agent.name</c>.</summary>
    public const string AgentName = "gen_ai.agent.name";

    /// <summary><c>gen_ai.agent.id</c>: the service's id of the agent (assistant id, or the Foundry agent name).</summary>
    public const string AgentId = "gen_ai.agent.id";

    /// <summary><c>gen_ai.conversation.id</c>: the thread (classic) or conversation (foundry).</summary>
    public const string ConversationId = "gen_ai.conversation.id";

    /// <summary><c>gen_ai.usage.input_tokens</c>: prompt tokens of all the job's runs.</summary>
    public const string UsageInputTokens = "gen_ai.usage.input_tokens";

    /// <summary><c>gen_ai.usage.output_tokens</c>: completion tokens of all the job's runs.</summary>
    public const string UsageOutputTokens = "gen_ai.usage.output_tokens";

    /// <summary><c>gen_ai.token.type</c> on <c>gen_ai.client.token.usage</c>: <c>input</c> or <c>output</c>.</summary>
    public const string TokenType = "gen_ai.token.type";

    /// <summary><c>gen_ai.tool.name</c>.</summary>
    public const string ToolName = "gen_ai.tool.name";

    /// <summary><c>gen_ai.tool.call.id</c>: the call id the agent service gave the call.</summary>
    public const string ToolCallId = "gen_ai.tool.call.id";

    /// <summary><c>gen_ai.tool.type</c>: <c>function</c> for every tool a job runs.</summary>
    public const string ToolType = "gen_ai.tool.type";

    /// <summary><c>gen_ai.tool.call.arguments</c> (opt-in content).</summary>
    public const string ToolCallArguments = "gen_ai.tool.call.arguments";

    /// <summary><c>gen_ai.tool.call.result</c> (opt-in content).</summary>
    public const string ToolCallResult = "gen_ai.tool.call.result";

    /// <summary><c>gen_ai.input.messages</c> (opt-in content): the user's message, as the convention's JSON message list.</summary>
    public const string InputMessages = "gen_ai.input.messages";

    /// <summary><c>gen_ai.output.messages</c> (opt-in content): the agent's reply, as the convention's JSON message list.</summary>
    public const string OutputMessages = "gen_ai.output.messages";

    /// <summary><c>gen_ai.system_instructions</c> (opt-in content): the agent's instructions.</summary>
    public const string SystemInstructions = "gen_ai.system_instructions";

    /// <summary><c>error.type</c>: the HTTP status of a failed service call, an exception type, or a job's failure code.</summary>
    public const string ErrorType = "error.type";

    /// <summary>Operation value: creating the job's agent.</summary>
    public const string CreateAgent = "create_agent";

    /// <summary>Operation value: the job as a whole (its job span and its token usage).</summary>
    public const string InvokeAgent = "invoke_agent";

    /// <summary>Operation value: one function-tool call.</summary>
    public const string ExecuteTool = "execute_tool";

    /// <summary>
    /// Provider value: <c>azure.ai.openai</c>, the convention's well-known value for Azure OpenAI, used for both
    /// protocols (classic Assistants-compatible and Foundry responses), which speak the OpenAI API.
    /// </summary>
    public const string AzureAIOpenAI = "azure.ai.openai";

    /// <summary><c>agentjobs.job.id</c>: the job's orchestration instance id.</summary>
    public const string JobId = "agentjobs.job.id";

    /// <summary><c>agentjobs.job.outcome</c>: a <see cref="Contracts.JobOutcome"/> name.</summary>
    public const string JobOutcome = "agentjobs.job.outcome";

    /// <summary><c>agentjobs.job.tool_calls</c>: tool calls the job answered.</summary>
    public const string JobToolCalls = "agentjobs.job.tool_calls";

    /// <summary><c>agentjobs.job.polls</c>: run reads the job made.</summary>
    public const string JobPolls = "agentjobs.job.polls";

    /// <summary><c>agentjobs.operation</c>: the activity (agent-service operation) a measurement belongs to, e.g. <c>GetRun</c>.</summary>
    public const string Operation = "agentjobs.operation";
}
