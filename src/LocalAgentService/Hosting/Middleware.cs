using System.Globalization;
using System.Text.Json;
using LocalAgentService.Faults;
using LocalAgentService.Protocols;
using LocalAgentService.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace LocalAgentService.Hosting;

/// <summary>The request pipeline pieces: error envelope, API key check, fault injection.</summary>
internal static class Middleware
{
    /// <summary>Client mistakes become the protocol's error body; unexpected exceptions a 500 with the same shape.</summary>
    public static async Task Errors(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (ServiceException ex) when (!context.Response.HasStarted)
        {
            await ProtocolJson.WriteErrorAsync(context, ex);
        }
        catch (BadHttpRequestException ex) when (!context.Response.HasStarted)
        {
            string message = ex.StatusCode == StatusCodes.Status413PayloadTooLarge
                ? "The request body is too large."
                : "The request could not be read: " + ex.Message;
            await ProtocolJson.WriteErrorAsync(context, ex.StatusCode, message, "invalid_request_error", null, null);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
    }

    /// <summary>With an API key configured, require it as <c>api-key</c> or <c>Authorization: Bearer</c>.</summary>
    public static Func<HttpContext, RequestDelegate, Task> ApiKey(string? key) => (context, next) =>
    {
        if (string.IsNullOrEmpty(key) || context.Request.Path.StartsWithSegments("/health"))
        {
            return next(context);
        }

        string? given = context.Request.Headers["api-key"].ToString();
        if (string.IsNullOrEmpty(given))
        {
            string auth = context.Request.Headers.Authorization.ToString();
            given = auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? auth["Bearer ".Length..].Trim() : null;
        }

        if (string.Equals(given, key, StringComparison.Ordinal))
        {
            return next(context);
        }

        return ProtocolJson.WriteErrorAsync(
            context, StatusCodes.Status401Unauthorized,
            "Incorrect or missing API key. Send it as an 'api-key' header or 'Authorization: Bearer <key>'.",
            "invalid_request_error", null, "invalid_api_key");
    };

    /// <summary>Applies a matching fault (headers or rules) to protocol operations; admin routes are never faulted.</summary>
    public static async Task Faults(HttpContext context, RequestDelegate next)
    {
        var operation = context.GetEndpoint()?.Metadata.GetMetadata<AgentOperation>();
        if (operation is null)
        {
            await next(context);
            return;
        }

        var injector = context.RequestServices.GetRequiredService<FaultInjector>();
        var headers = context.Request.Headers;
        bool streams = FaultInjector.CanStream(operation.Name)
            && injector.MayDropStream(headers[FaultInjector.ModeHeader].ToString())
            && await StreamsAsync(context.Request);
        var fault = injector.Decide(operation.Name, context.Request.Method, context.Request.Path, name => headers[name].ToString(), streams);
        switch (fault?.Mode)
        {
            case null:
                await next(context);
                return;
            case "drop":
                context.Abort();
                return;
            case FaultInjector.DropStream:
                context.Items[EventStream.DropStreamItem] = true;
                await next(context);
                return;
            case "run-fail":
            case "run-expire":
                context.Items[AgentOperation.RunFaultItem] = fault.Mode == "run-fail" ? RunFault.Fail : RunFault.Expire;
                await next(context);
                return;
        }

        int status = int.Parse(fault.Mode, CultureInfo.InvariantCulture);
        if (status == StatusCodes.Status429TooManyRequests)
        {
            context.Response.Headers.RetryAfter = ((fault.RetryAfterMs + 999) / 1000).ToString(CultureInfo.InvariantCulture);
            context.Response.Headers["retry-after-ms"] = fault.RetryAfterMs.ToString(CultureInfo.InvariantCulture);
            await ProtocolJson.WriteErrorAsync(context, status, "Rate limit exceeded (injected fault). Retry after the indicated time.", "requests", null, "rate_limit_exceeded");
            return;
        }

        await ProtocolJson.WriteErrorAsync(
            context, status, $"The server had an error while processing your request (injected fault {status}).",
            status >= 500 ? "server_error" : "invalid_request_error", null, status >= 500 ? "server_error" : "injected_fault");
    }

    /// <summary>Whether the request asks for an event stream: <c>?stream=true</c> on a GET, <c>"stream": true</c> in a POST body (left readable for the handler).</summary>
    private static async Task<bool> StreamsAsync(HttpRequest request)
    {
        if (HttpMethods.IsGet(request.Method))
        {
            return string.Equals(request.Query["stream"], "true", StringComparison.OrdinalIgnoreCase);
        }

        request.EnableBuffering();
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, default, request.HttpContext.RequestAborted);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            return false; // the handler reports the malformed body
        }
        finally
        {
            request.Body.Position = 0;
        }
    }
}
