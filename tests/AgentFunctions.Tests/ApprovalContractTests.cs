using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>Approval of tool calls over HTTP, against the Functions app under a real Functions host.</summary>
public sealed class ApprovalContractTests(FunctionsApp app) : AgentJobsApprovalContract(app);
