using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;

namespace LocalAgentService.Protocols;

/// <summary>Wire JSON: snake_case names, nulls written (the protocol sends explicit nulls), and the error envelope.</summary>
internal static class ProtocolJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        // Like the real service: quotes and apostrophes stay readable inside strings.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static IResult Ok(object value) => Results.Json(value, Options);

    public static Task WriteErrorAsync(HttpContext context, int status, string message, string type, string? param, string? code)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new ErrorEnvelope(new ErrorBody(message, type, param, code)), Options);
    }

    public static Task WriteErrorAsync(HttpContext context, ServiceException error) =>
        WriteErrorAsync(context, error.Status, error.Message, error.Type, error.Param, error.Code);

    private sealed record ErrorEnvelope(ErrorBody Error);

    private sealed record ErrorBody(string Message, string Type, string? Param, string? Code);
}
