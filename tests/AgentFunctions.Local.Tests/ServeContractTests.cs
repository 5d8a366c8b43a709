using AgentFunctions.Local.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Local.Tests;

/// <summary>The <c>serve</c> verb under the same API contract suite as the Functions app's HTTP triggers, over real HTTP.</summary>
public sealed class ServeContractTests(ServeApiHost host) : AgentJobsApiContract(host), IClassFixture<ServeApiHost>;
