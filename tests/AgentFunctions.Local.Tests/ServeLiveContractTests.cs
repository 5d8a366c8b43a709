using AgentFunctions.Local.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Local.Tests;

/// <summary>The job list and event stream contract, against <c>serve</c> over real HTTP on 127.0.0.1.</summary>
public sealed class ServeLiveContractTests(ServeApiHost host) : AgentJobsLiveContract(host), IClassFixture<ServeApiHost>;
