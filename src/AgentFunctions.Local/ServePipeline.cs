using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local;

/// <summary>
/// What <c>serve</c> puts in front of the API: every error the app answers is <c>application/problem+json</c>
/// (ASP.NET Core's exception handler and status code pages over the problem details service, so an unknown route,
/// a wrong method or a thrown exception answers like the API does), request-size limits answered the same way,
/// the Host and Origin check of a keyless serve (<see cref="LoopbackGuard"/>) and the key check (<see cref="ServeKey"/>).
/// </summary>
internal static class ServePipeline
{
    /// <summary>Longest request target the app accepts (Kestrel's own default): longer gets 414.</summary>
    public const int MaxRequestTargetLength = 8 * 1024;

    /// <summary>Largest total size of the request headers the app accepts (Kestrel's own default): larger gets 431.</summary>
    public const int MaxRequestHeadersBytes = 32 * 1024;

    /// <summary>Most request headers the app accepts (Kestrel's own default): more gets 431.</summary>
    public const int MaxRequestHeaderCount = 100;

    /// <summary>
    /// Kestrel's limits, above the app's: Kestrel rejects a request over its limits before any app code runs, with
    /// an empty body, so it is given room to hand requests up to twice the app's limits to the app, which answers
    /// them with problem details. Beyond these, Kestrel still answers 414/431 itself, with no body.
    /// </summary>
    public const int KestrelRequestLineLimit = 2 * MaxRequestTargetLength;

    /// <inheritdoc cref="KestrelRequestLineLimit"/>
    public const int KestrelRequestHeadersLimit = 2 * MaxRequestHeadersBytes;

    /// <inheritdoc cref="KestrelRequestLineLimit"/>
    public const int KestrelRequestHeaderCountLimit = 2 * MaxRequestHeaderCount;

    /// <summary>Kestrel's limits and the key, before the app is built.</summary>
    public static void Configure(WebApplicationBuilder builder, ServeKey key)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestLineSize = KestrelRequestLineLimit;
            kestrel.Limits.MaxRequestHeadersTotalSize = KestrelRequestHeadersLimit;
            kestrel.Limits.MaxRequestHeaderCount = KestrelRequestHeaderCountLimit;
        });
        builder.Services.AddSingleton(key);
    }

    /// <summary>The middleware, in order: exception handler, status code pages, size limits, loopback guard (keyless only), key check (the API is mapped after).</summary>
    public static void Use(WebApplication app)
    {
        // A thrown BadHttpRequestException (e.g. a body over Kestrel's size limit) keeps its 4xx status.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.Use(AbortedRequestsAsync);
        app.UseStatusCodePages();
        app.Use(RequestLimitsAsync);
        var key = app.Services.GetRequiredService<ServeKey>();
        if (!key.IsSet)
        {
            app.Use(LoopbackGuard.CheckAsync); // keyless serve listens on loopback only: refuse other sites' pages
        }

        app.Use(key.CheckAsync);
    }

    /// <summary>
    /// A client that goes away mid-request cancels the request's token, and whatever the handler was awaiting throws:
    /// an OperationCanceledException (which the exception handler already treats as an aborted request) or, from a
    /// durable client call over gRPC, an RpcException with status Cancelled, which it would log as an unhandled
    /// error with a stack trace. Nobody is there to answer, so both are logged at debug level and dropped.
    /// </summary>
    internal static async Task AbortedRequestsAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (context.RequestAborted.IsCancellationRequested && IsCancellation(ex))
        {
            Logger(context).ClientWentAway(context.Request.Method, context.Request.Path, ex.GetType().Name);
            if (!context.Response.HasStarted)
            {
                context.Response.StatusCode = 499; // client closed request; nobody reads it
            }
        }
        catch (BadHttpRequestException bad)
        {
            // The request itself was bad, typically a body cut short by a client that went away: its 4xx, not an error of ours.
            Logger(context).BadRequest(context.Request.Method, context.Request.Path, bad.StatusCode, bad.Message);
            if (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
            {
                context.Response.Clear();
                await WriteProblemAsync(context, bad.StatusCode, bad.Message).ConfigureAwait(false);
            }
        }
    }

    static ILogger Logger(HttpContext context) =>
        context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(ServePipeline).FullName!);

    static bool IsCancellation(Exception ex) =>
        ex is OperationCanceledException or IOException or ConnectionAbortedException ||
        ex is Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled } ||
        (ex.InnerException is { } inner && IsCancellation(inner));

    static Task RequestLimitsAsync(HttpContext context, RequestDelegate next)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        if (target.Length > MaxRequestTargetLength)
        {
            return WriteProblemAsync(context, StatusCodes.Status414UriTooLong,
                $"The request target has {target.Length} characters; the limit is {MaxRequestTargetLength}.");
        }

        long headerBytes = 0;
        var headerCount = 0;
        foreach (var (name, values) in context.Request.Headers)
        {
            foreach (var value in values)
            {
                headerCount++;
                headerBytes += name.Length + (value?.Length ?? 0) + 4; // "name: value\r\n"
            }
        }

        if (headerCount > MaxRequestHeaderCount)
        {
            return WriteProblemAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge,
                $"The request has {headerCount} headers; the limit is {MaxRequestHeaderCount}.");
        }

        return headerBytes > MaxRequestHeadersBytes
            ? WriteProblemAsync(context, StatusCodes.Status431RequestHeaderFieldsTooLarge,
                $"The request headers take about {headerBytes} bytes; the limit is {MaxRequestHeadersBytes}.")
            : next(context);
    }

    /// <summary>Answers with a problem document through the problem details service.</summary>
    public static async Task WriteProblemAsync(HttpContext context, int status, string detail)
    {
        context.Response.StatusCode = status;
        await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails = new ProblemDetails { Status = status, Detail = detail },
        }).ConfigureAwait(false);
    }
}

/// <summary>
/// The key <c>serve</c> asks callers for, from the setting <see cref="Setting"/> (environment variable
/// <c>AgentJobs__ServeKey</c>). Sent as the Functions app's function keys are: the <c>x-functions-key</c> header or
/// the <c>code</c> query parameter. With a key set, every request needs it; without one, <c>serve</c> only starts
/// on loopback addresses. The key is compared in constant time and never logged or echoed.
/// </summary>
internal sealed class ServeKey
{
    /// <summary>The configuration key (environment: <c>AgentJobs__ServeKey</c>).</summary>
    public const string Setting = "AgentJobs:ServeKey";

    /// <summary>The setting as users write it in the environment.</summary>
    public const string EnvironmentName = "AgentJobs__ServeKey";

    /// <summary>The request header that carries the key (as in Azure Functions).</summary>
    public const string Header = "x-functions-key";

    /// <summary>The query parameter that carries the key (as in Azure Functions).</summary>
    public const string Query = "code";

    readonly byte[]? hash;

    /// <summary>The key callers must send; null or empty means none.</summary>
    public ServeKey(string? key)
    {
        hash = string.IsNullOrEmpty(key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>Whether a key is set (and so required on every request).</summary>
    public bool IsSet => hash is not null;

    /// <summary>Whether an address (<c>http://host:port</c>, as <c>--urls</c> or Kestrel list it) is on a loopback interface only.</summary>
    public static bool IsLoopback(string address)
    {
        var host = BindingAddress.Parse(address).Host.Trim('[', ']');
        return string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
               (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
    }

    /// <summary>The one-line reason <c>serve</c> refuses to listen on <paramref name="address"/> without a key.</summary>
    public static string RefusalFor(string address) =>
        $"serve would listen on {address}, beyond loopback, with no key: anyone who can reach it could run agent jobs. " +
        $"Set {EnvironmentName} to a secret that callers send as the {Header} header or ?{Query}=, or listen on 127.0.0.1.";

    /// <summary>Middleware: 401 problem details unless the request carries the key (when one is set).</summary>
    public Task CheckAsync(HttpContext context, RequestDelegate next)
    {
        if (hash is null)
        {
            return next(context);
        }

        var header = context.Request.Headers[Header];
        var given = header.Count > 0 ? header.ToString() : context.Request.Query[Query].ToString();
        if (given.Length == 0)
        {
            return ServePipeline.WriteProblemAsync(context, StatusCodes.Status401Unauthorized,
                $"This API requires a key: send it in the {Header} header or the {Query} query parameter.");
        }

        // Hashing first makes the comparison constant-time whatever the length of what was sent.
        return CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(given)), hash)
            ? next(context)
            : ServePipeline.WriteProblemAsync(context, StatusCodes.Status401Unauthorized,
                $"The key in the {Header} header or {Query} query parameter is not valid for this API.");
    }
}

/// <summary>
/// What keeps other sites' pages out of a keyless <c>serve</c> (which listens on loopback only): a browser on this
/// machine can be made to send requests to 127.0.0.1 by any page it shows, directly (cross-site requests) or through a
/// name the attacker controls that resolves to 127.0.0.1 (DNS rebinding). So every request must name the server by a
/// loopback name or address in <c>Host</c> (<c>localhost</c>, <c>127.0.0.1</c>, <c>[::1]</c>: a rebound name fails
/// here), and a request that carries an <c>Origin</c> must come from the server's own origin (this scheme, a loopback
/// host, this port): 403 problem details otherwise. The dashboard, served from the same origin, passes; so do curl and
/// other clients that send no Origin. With a key set, the key is the check instead.
/// </summary>
internal static class LoopbackGuard
{
    /// <summary>Middleware: 403 problem details unless Host is a loopback name and Origin, when sent, is this server's.</summary>
    public static Task CheckAsync(HttpContext context, RequestDelegate next)
    {
        var host = context.Request.Host;
        if (!host.HasValue || !IsLoopbackName(host.Host))
        {
            return ServePipeline.WriteProblemAsync(context, StatusCodes.Status403Forbidden,
                $"The Host '{Shorten(host.Value)}' is not a loopback name: this keyless serve answers only requests to localhost, 127.0.0.1 or [::1] " +
                "(a name that merely resolves to this machine is refused, against DNS rebinding). To serve other names, set AgentJobs__ServeKey.");
        }

        var origins = context.Request.Headers.Origin;
        if (origins.Count > 0)
        {
            var origin = origins.ToString();
            if (origins.Count > 1 || !IsOwnOrigin(context, origin))
            {
                return ServePipeline.WriteProblemAsync(context, StatusCodes.Status403Forbidden,
                    $"Requests from the origin '{Shorten(origin)}' are refused: this keyless serve takes browser requests only from its own pages " +
                    $"({context.Request.Scheme}://{host.Host}:{context.Connection.LocalPort}). Clients that are not web pages send no Origin.");
            }
        }

        return next(context);
    }

    /// <summary>Whether a host name (no port) is <c>localhost</c> or a loopback address.</summary>
    public static bool IsLoopbackName(string host)
    {
        var name = host.Trim('[', ']').TrimEnd('.');
        return string.Equals(name, "localhost", StringComparison.OrdinalIgnoreCase) ||
               (IPAddress.TryParse(name, out var ip) && IPAddress.IsLoopback(ip));
    }

    static bool IsOwnOrigin(HttpContext context, string origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) &&
        string.Equals(uri.Scheme, context.Request.Scheme, StringComparison.OrdinalIgnoreCase) &&
        uri.AbsolutePath == "/" && uri.Query.Length == 0 && string.IsNullOrEmpty(uri.UserInfo) &&
        IsLoopbackName(uri.Host) &&
        uri.Port == context.Connection.LocalPort;

    static string Shorten(string? text) =>
        text is null ? "" : text.Length <= 100 ? text : text[..100] + "…";
}
