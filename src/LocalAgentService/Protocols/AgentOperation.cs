namespace LocalAgentService.Protocols;

/// <summary>Endpoint metadata naming a protocol operation (e.g. <c>get-run</c>); fault rules match on it.</summary>
internal sealed record AgentOperation(string Name)
{
    /// <summary>HttpContext item key for a run fault planted by the fault middleware.</summary>
    public const string RunFaultItem = "LocalAgentService.RunFault";
}
