using System.Collections.Frozen;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AgentJobs.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace AgentJobs.Dashboard;

/// <summary>
/// The dashboard: one page (<c>index.html</c>) and its script and style sheet, embedded in this assembly and served
/// by both hosts through <see cref="Serve"/> (<c>serve</c>: <c>GET /</c> and <c>/dashboard/{file}</c>; the Functions
/// app: <c>GET /api/dashboard</c> and <c>/api/dashboard/{file}</c>). The page calls the agent-jobs API from the
/// browser. The function key (<c>?code=</c>) the page was opened with is passed on to its assets here and to every
/// API call and event stream by the script, since <c>EventSource</c> cannot send headers. Responses carry a strong
/// ETag (answered with 304 when it matches) and <c>Cache-Control: no-cache</c>; the page has a strict
/// Content-Security-Policy (its own script and styles only, API calls to its own origin) and sends no referrer,
/// so the key in its address does not leak.
/// </summary>
public sealed class AgentJobsDashboard
{
    /// <summary>The page's Content-Security-Policy.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /// <summary>The query parameter that carries a function key (as in Azure Functions and <c>serve</c>).</summary>
    public const string KeyQuery = "code";

    const string PageName = "index.html";

    readonly FrozenDictionary<string, Asset> assets = LoadAssets();

    /// <summary>
    /// Answers a dashboard request: the page when <paramref name="file"/> is null or empty, else the named asset
    /// (404 problem details for any other name). <paramref name="assetBase"/> is the absolute path the host serves
    /// the assets under, ending in <c>/</c> (e.g. <c>/dashboard/</c>); the request's path base is put in front of it
    /// and of the API's path.
    /// </summary>
    public IResult Serve(HttpRequest request, string? file, string assetBase)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentException.ThrowIfNullOrEmpty(assetBase);
        if (string.IsNullOrEmpty(file) || file == PageName)
        {
            return Page(request, assetBase);
        }

        return assets.TryGetValue(file, out var asset)
            ? new AssetResult(asset.Body, asset.ContentType, asset.ETag, contentSecurityPolicy: false)
            : ApiResults.Problem(StatusCodes.Status404NotFound, "Not found", $"The dashboard has no file '{file}'.", null);
    }

    AssetResult Page(HttpRequest request, string assetBase)
    {
        // The key goes into attribute values: escaped as URI data it holds only unreserved characters and %XX.
        var code = request.Query[KeyQuery].ToString();
        var query = code.Length > 0 ? $"?{KeyQuery}={Uri.EscapeDataString(code)}" : "";
        var pathBase = request.PathBase.ToUriComponent();
        var html = Encoding.UTF8.GetString(assets[PageName].Body)
            .Replace("{{assets}}", pathBase + assetBase, StringComparison.Ordinal)
            .Replace("{{api}}", pathBase + "/" + AgentJobsApi.RoutePrefix, StringComparison.Ordinal)
            .Replace("{{query}}", query, StringComparison.Ordinal);
        var body = Encoding.UTF8.GetBytes(html);
        return new AssetResult(body, assets[PageName].ContentType, ETagOf(body), contentSecurityPolicy: true);
    }

    static FrozenDictionary<string, Asset> LoadAssets()
    {
        const string prefix = "AgentJobs.Dashboard.";
        var assembly = typeof(AgentJobsDashboard).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource[prefix.Length..];
            var body = copy.ToArray();
            assets[name] = new Asset(body, ContentTypeOf(name), ETagOf(body));
        }

        return assets.ContainsKey(PageName)
            ? assets.ToFrozenDictionary(StringComparer.Ordinal)
            : throw new InvalidOperationException($"The dashboard's {PageName} is not embedded in {assembly.GetName().Name}.");
    }

    static string ContentTypeOf(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        var other => throw new InvalidOperationException($"No content type for dashboard file '{name}' ({other})."),
    };

    static string ETagOf(byte[] body) =>
        string.Create(CultureInfo.InvariantCulture, $"\"{Convert.ToHexStringLower(SHA256.HashData(body).AsSpan(0, 16))}\"");

    sealed record Asset(byte[] Body, string ContentType, string ETag);

    /// <summary>The file with its headers; ASP.NET Core's file result answers <c>If-None-Match</c> with 304.</summary>
    sealed class AssetResult(byte[] body, string contentType, string etag, bool contentSecurityPolicy) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            var headers = httpContext.Response.Headers;
            headers.CacheControl = "no-cache";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            if (contentSecurityPolicy)
            {
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
            }

            return Results.Bytes(body, contentType, entityTag: EntityTagHeaderValue.Parse(etag)).ExecuteAsync(httpContext);
        }
    }
}
