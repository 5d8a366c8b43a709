using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace AgentFunctions.Local;

/// <summary>
/// What <c>serve</c> puts in front of the API: every error the app answers is <c>application/problem+json</c>
/// (ASP.NET Core's exception handler and status code pages over the problem details service, so an unknown route,
/// a wrong method or a thrown exception answers like the API does), and request-size limits answered the same way.
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

    public static void Configure(WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestLineSize = KestrelRequestLineLimit;
            kestrel.Limits.MaxRequestHeadersTotalSize = KestrelRequestHeadersLimit;
            kestrel.Limits.MaxRequestHeaderCount = KestrelRequestHeaderCountLimit;
        });
    }

    public static void Use(WebApplication app)
    {
        // A thrown BadHttpRequestException (e.g. a body over Kestrel's size limit) keeps its 4xx status.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.Use(RequestLimitsAsync);
    }

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
