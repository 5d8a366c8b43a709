using Microsoft.AspNetCore.Http;

namespace AgentJobs.Http;

/// <summary>Response helpers of the operations endpoints (batches, purge): problem details, Location and Retry-After headers, body reading.</summary>
internal static class ApiResults
{
    /// <summary>An RFC 9457 problem response with a <c>field</c> extension (null when no field is at fault).</summary>
    public static IResult Problem(int status, string title, string detail, string? field) =>
        Results.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Status = status,
            Title = title,
            Detail = detail,
            Type = ProblemDetailsSetup.TypeOf(status),
            Extensions = { ["field"] = field },
        });

    /// <summary>
    /// Reads an optional whole-number query parameter: <paramref name="fallback"/> when it is absent or empty; false when
    /// it is not digits only or falls outside <paramref name="min"/>–<paramref name="max"/>.
    /// </summary>
    public static bool TryQueryInt(HttpRequest request, string name, int fallback, int min, int max, out int value)
    {
        value = fallback;
        return request.Query[name].ToString() is not { Length: > 0 } text
            || (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value) && value >= min && value <= max);
    }

    /// <summary>JSON with the API's options.</summary>
    public static IResult Json(object value, int status = StatusCodes.Status200OK) =>
        Results.Json(value, AgentJobsApi.JsonOptions, statusCode: status);

    /// <summary>Reads the body up to <paramref name="maxBytes"/>; null when it is longer.</summary>
    public static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>The absolute URL of <paramref name="path"/> (relative to the app root) for this request.</summary>
    public static string Url(HttpRequest request, string path) => $"{request.Scheme}://{request.Host}{request.PathBase}/{path}";

    /// <summary>Adds a Location header to a result.</summary>
    public sealed class WithLocation(IResult inner, string location) : IResult
    {
        /// <inheritdoc/>
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            httpContext.Response.Headers.Location = location;
            return inner.ExecuteAsync(httpContext);
        }
    }

    /// <summary>Adds a Retry-After header (seconds) to a result.</summary>
    public sealed class WithRetryAfter(IResult inner, int seconds) : IResult
    {
        /// <inheritdoc/>
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }
}
