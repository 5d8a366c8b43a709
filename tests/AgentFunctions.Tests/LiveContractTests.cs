using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>The job list and event stream contract, against the Functions app's [Function] wrappers in-process.</summary>
public sealed class LiveContractTests(FunctionsApiHost host) : AgentJobsLiveContract(host), IClassFixture<FunctionsApiHost>;
