using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>Approval of tool calls over HTTP, against the Functions app's HTTP functions.</summary>
public sealed class ApprovalContractTests(FunctionsApiHost host) : AgentJobsApprovalContract(host), IClassFixture<FunctionsApiHost>;
