using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>The shared operations contract (job purge, batches), run against the Functions app's [Function] HTTP wrappers in-process.</summary>
public sealed class OperationsContractTests(FunctionsApiHost host) : AgentJobsOperationsContract(host), IClassFixture<FunctionsApiHost>;
