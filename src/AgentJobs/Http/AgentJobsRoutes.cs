namespace AgentJobs.Http;

/// <summary>
/// Every route both hosts serve, written once. The Functions app puts each in an <c>[HttpTrigger(Route = …)]</c>
/// (constants, so they work in attributes) under its host's <c>api</c> prefix; the local host maps the same strings
/// under a <c>/api</c> route group (<see cref="ApiPrefix"/>), so every URL is the same on both. MCP and the dashboard
/// are the exceptions the hosts have always had: <c>serve</c> puts them at the root (<c>/mcp</c>, the page at <c>/</c>),
/// the Functions app under <c>/api</c>.
/// </summary>
public static class AgentJobsRoutes
{
    /// <summary>The prefix every API route sits under: the Functions host's default <c>routePrefix</c>, which <c>serve</c> reproduces.</summary>
    public const string ApiPrefix = "api";

    /// <summary><c>agent-jobs</c>: POST starts a job, GET lists jobs.</summary>
    public const string Jobs = "agent-jobs";

    /// <summary><c>agent-jobs/{id}</c>: GET reads a job, DELETE purges it.</summary>
    public const string Job = Jobs + "/{id}";

    /// <summary><c>agent-jobs/{id}/cancel</c>: POST asks a job to cancel.</summary>
    public const string JobCancel = Job + "/cancel";

    /// <summary><c>agent-jobs/{id}/approvals</c>: POST decides a held tool call.</summary>
    public const string JobApprovals = Job + "/approvals";

    /// <summary><c>agent-jobs/{id}/events</c>: GET streams the job's events.</summary>
    public const string JobEvents = Job + "/events";

    /// <summary><c>agent-sessions</c>: POST starts a session, GET lists sessions.</summary>
    public const string Sessions = "agent-sessions";

    /// <summary><c>agent-sessions/{id}</c>: GET reads a session, DELETE ends it.</summary>
    public const string Session = Sessions + "/{id}";

    /// <summary><c>agent-sessions/{id}/turns</c>: POST sends a turn, GET lists turns.</summary>
    public const string SessionTurns = Session + "/turns";

    /// <summary><c>agent-sessions/{id}/turns/{turn}</c>: GET reads one turn.</summary>
    public const string SessionTurn = SessionTurns + "/{turn}";

    /// <summary><c>agent-sessions/{id}/cancel-turn</c>: POST cancels the running turn.</summary>
    public const string SessionCancelTurn = Session + "/cancel-turn";

    /// <summary><c>agent-sessions/{id}/approvals</c>: POST decides a tool call of the running turn.</summary>
    public const string SessionApprovals = Session + "/approvals";

    /// <summary><c>agent-batches</c>: POST starts a batch.</summary>
    public const string Batches = "agent-batches";

    /// <summary><c>agent-batches/{id}</c>: GET reads a batch, DELETE purges it.</summary>
    public const string Batch = Batches + "/{id}";

    /// <summary><c>agent-batches/{id}/cancel</c>: POST cancels a batch.</summary>
    public const string BatchCancel = Batch + "/cancel";

    /// <summary><c>mcp</c>: the agent-jobs MCP server (Streamable HTTP).</summary>
    public const string Mcp = "mcp";

    /// <summary><c>dashboard</c>: where the dashboard's files are served.</summary>
    public const string Dashboard = "dashboard";

    /// <summary><c>dashboard/{file?}</c>: the Functions app's one dashboard route, the page without a file.</summary>
    public const string DashboardPageOrFile = Dashboard + "/{file?}";

    /// <summary><c>dashboard/{file}</c>: <c>serve</c>'s route of the dashboard's files (its page is at <c>/</c>).</summary>
    public const string DashboardFile = Dashboard + "/{file}";

    /// <summary><c>api/agent-jobs</c>: the jobs' path from the root, for links and clients.</summary>
    public const string JobsPath = ApiPrefix + "/" + Jobs;

    /// <summary><c>api/agent-sessions</c>: the sessions' path from the root, for links and clients.</summary>
    public const string SessionsPath = ApiPrefix + "/" + Sessions;

    /// <summary><c>api/agent-batches</c>: the batches' path from the root, for links and clients.</summary>
    public const string BatchesPath = ApiPrefix + "/" + Batches;
}
