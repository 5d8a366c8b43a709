using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>Agent sessions over HTTP, against the Functions app under a real Functions host.</summary>
public sealed class SessionsContractTests(FunctionsApp app) : AgentSessionsContract(app);
