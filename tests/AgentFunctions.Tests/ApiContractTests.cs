using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

// One Functions host (func start on Azurite, function keys enforced) serves every suite of this assembly; the
// suites' classes still run in parallel against it, as clients of a deployed app would.
[assembly: AssemblyFixture(typeof(FunctionsApp))]

namespace AgentFunctions.Tests;

/// <summary>The shared HTTP contract, against the Functions app under a real Functions host.</summary>
public sealed class ApiContractTests(FunctionsApp app) : AgentJobsApiContract(app);
