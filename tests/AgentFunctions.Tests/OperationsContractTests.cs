using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>The shared operations contract (job purge, batches), against the Functions app under a real Functions host.</summary>
public sealed class OperationsContractTests(FunctionsApp app) : AgentJobsOperationsContract(app);
