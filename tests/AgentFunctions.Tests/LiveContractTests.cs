using AgentFunctions.Tests.Support;
using AgentJobs.ApiContract;

namespace AgentFunctions.Tests;

/// <summary>The job list and the event stream (Last-Event-ID resume included), against the Functions app under a real Functions host.</summary>
public sealed class LiveContractTests(FunctionsApp app) : AgentJobsLiveContract(app);
