using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>Agent sessions over HTTP, against the Functions app's HTTP functions.</summary>
public sealed class SessionsContractTests(FunctionsApiHost host) : AgentSessionsContract(host), IClassFixture<FunctionsApiHost>;
