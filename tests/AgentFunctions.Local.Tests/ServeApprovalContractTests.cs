using AgentFunctions.Local.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Local.Tests;

/// <summary>Approval of tool calls over HTTP, against <c>serve</c> over real HTTP on 127.0.0.1.</summary>
public sealed class ServeApprovalContractTests(ServeApiHost host) : AgentJobsApprovalContract(host), IClassFixture<ServeApiHost>;
