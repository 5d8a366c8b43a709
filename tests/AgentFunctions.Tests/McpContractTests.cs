using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>The shared MCP contract, run against the Functions app's /api/mcp trigger in-process with the official MCP client.</summary>
public sealed class McpContractTests(FunctionsApiHost host) : AgentJobsMcpContract(host), IClassFixture<FunctionsApiHost>;
