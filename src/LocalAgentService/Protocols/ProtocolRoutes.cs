using System.Globalization;
using LocalAgentService.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace LocalAgentService.Protocols;

/// <summary>Route plumbing both protocols share: operation names for faults, planted run faults, the poll hint.</summary>
internal static class ProtocolRoutes
{
    /// <summary>The poll-after hint on run and response reads, in integer milliseconds (read by the workflow's adapter).</summary>
    public const string RetryAfterMsHeader = "retry-after-ms";

    /// <summary>Names the endpoint's operation (what fault rules match on).</summary>
    public static void Op(RouteHandlerBuilder builder, string operation) => builder.WithMetadata(new AgentOperation(operation));

    /// <summary>The run fault the fault middleware planted for this request, if any.</summary>
    public static RunFault PlantedFault(HttpContext ctx) =>
        ctx.Items.TryGetValue(AgentOperation.RunFaultItem, out var value) && value is RunFault fault ? fault : RunFault.None;

    /// <summary>A run or response read: the body plus its <c>retry-after-ms</c> poll hint (unless <see cref="SimulationOptions.PollHints"/> is off).</summary>
    public static IResult PollHinted<T>(HttpResponse res, (T Body, int HintMs) result)
        where T : notnull
    {
        if (res.HttpContext.RequestServices.GetRequiredService<SimulationOptions>().PollHints)
        {
            res.Headers[RetryAfterMsHeader] = result.HintMs.ToString(CultureInfo.InvariantCulture);
        }

        return ProtocolJson.Ok(result.Body);
    }
}
