using AgentFunctions.Local.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Local.Tests;

/// <summary>The <c>serve</c> verb under the same operations contract (job purge, batches) as the Functions app, over real HTTP.</summary>
public sealed class ServeOperationsContractTests(ServeApiHost host) : AgentJobsOperationsContract(host), IClassFixture<ServeApiHost>;
