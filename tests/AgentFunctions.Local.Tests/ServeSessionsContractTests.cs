using AgentFunctions.Local.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Local.Tests;

/// <summary>Agent sessions over HTTP, against <c>serve</c> over real HTTP on 127.0.0.1.</summary>
public sealed class ServeSessionsContractTests(ServeApiHost host) : AgentSessionsContract(host), IClassFixture<ServeApiHost>;
