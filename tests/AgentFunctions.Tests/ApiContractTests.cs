using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>The shared HTTP contract, run against the Functions app's [Function] HTTP wrappers in-process.</summary>
public sealed class ApiContractTests(FunctionsApiHost host) : AgentJobsApiContract(host), IClassFixture<FunctionsApiHost>;
