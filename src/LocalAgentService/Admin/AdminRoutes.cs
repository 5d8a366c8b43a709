using System.Text.Json;
using LocalAgentService.Faults;
using LocalAgentService.Protocols;
using LocalAgentService.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace LocalAgentService.Admin;

/// <summary>Test controls: <c>/admin/stats</c> (leak check) and <c>/admin/faults</c> (fault rules for clients that cannot set headers).</summary>
internal static class AdminRoutes
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin");
        admin.MapGet("/stats", (AgentStore store) => ProtocolJson.Ok(store.GetStats()));
        admin.MapGet("/faults", (FaultInjector faults) => ProtocolJson.Ok(new { data = faults.Rules.Select(Describe).ToList() }));
        admin.MapPost("/faults", async (FaultInjector faults, HttpRequest request) =>
        {
            var rule = ParseRule(await RequestBody.ReadAsync(request));
            faults.Add(rule);
            return ProtocolJson.Ok(Describe(rule));
        });
        admin.MapDelete("/faults", (FaultInjector faults) =>
        {
            faults.Clear();
            return ProtocolJson.Ok(new { deleted = true });
        });
        app.MapGet("/health", () => ProtocolJson.Ok(new { status = "ok" }));
    }

    /// <summary>Accepts camelCase (<c>retryAfterMs</c>) and snake_case (<c>retry_after_ms</c>) keys.</summary>
    private static FaultRule ParseRule(RequestBody body) => new()
    {
        Operation = body.String("operation"),
        Mode = body.Get("mode") is { } mode
            ? mode.ValueKind == JsonValueKind.Number ? mode.GetRawText() : RequestBody.ExpectString(mode, "mode")
            : throw RequestBody.Missing("mode"),
        Count = body.Integer("count"),
        RetryAfterMs = body.Integer("retryAfterMs") ?? body.Integer("retry_after_ms"),
    };

    private static object Describe(FaultRule rule) =>
        new { operation = rule.Operation ?? "*", mode = rule.Mode, count = rule.Count, retry_after_ms = rule.RetryAfterMs ?? FaultInjector.DefaultRetryAfterMs };
}
