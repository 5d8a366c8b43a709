using AgentJobs.Dashboard;
using AgentJobs.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Azure.Functions.Worker;

namespace AgentFunctions;

/// <summary>
/// The dashboard (<see cref="AgentJobsDashboard"/>) behind a function-key HTTP trigger: the page at
/// <c>GET /api/dashboard?code=&lt;key&gt;</c>, its script and style sheet at <c>/api/dashboard/{file}</c>. The page
/// passes the <c>code</c> it was opened with to its files and to every API call and event stream it makes.
/// </summary>
public sealed class DashboardFunctions(AgentJobsDashboard dashboard)
{
    /// <summary>Function name of GET /api/dashboard/{file?}.</summary>
    public const string Name = "AgentJobsDashboard";

    /// <summary>Where the Functions app serves the dashboard's files (under the host's <c>api</c> prefix).</summary>
    public const string AssetsPath = "/" + AgentJobsRoutes.ApiPrefix + "/" + AgentJobsRoutes.Dashboard + "/";

    /// <summary>The page (no <paramref name="file"/>) or one of its files; 404 problem details for any other name.</summary>
    [Function(Name)]
    public Task<IResult> Dashboard(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = AgentJobsRoutes.DashboardPageOrFile)] HttpRequest request,
        string? file) =>
        Task.FromResult(dashboard.Serve(request, file, AssetsPath));
}
