using AgentFunctions.Local.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Local.Tests;

/// <summary>The shared MCP contract, run against <c>serve</c>'s /mcp over real HTTP on 127.0.0.1 with the official MCP client.</summary>
public sealed class ServeMcpContractTests(ServeApiHost host) : AgentJobsMcpContract(host), IClassFixture<ServeApiHost>;
