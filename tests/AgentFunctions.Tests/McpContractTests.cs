using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>The shared MCP contract at /api/mcp with the official MCP client, against the Functions app under a real Functions host.</summary>
public sealed class McpContractTests(FunctionsApp app) : AgentJobsMcpContract(app);
