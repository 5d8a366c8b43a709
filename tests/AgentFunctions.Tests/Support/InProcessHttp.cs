using System.Net;
using System.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Template;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;

namespace AgentFunctions.Tests.Support;

/// <summary>
/// Plays the Functions host and the ASP.NET Core integration for the app's HTTP triggers, in-process: routes a
/// request by each trigger's own route template and methods (under host.json's "api" prefix), builds a
/// DefaultHttpContext, calls the [Function] method with the request, route values and the DurableTaskClient,
/// executes the returned IResult into the context as the integration's middleware does, and converts the
/// response back. Function keys are not checked (the metadata test asserts every trigger requires one).
/// </summary>
sealed class InProcessHttp(IServiceProvider services, DurableTaskClient client)
{
    /// <summary>The host's route prefix (host.json extensions.http.routePrefix).</summary>
    public const string RoutePrefix = "api";

    static readonly IReadOnlyList<Route> Routes =
    [
        .. FunctionCatalog.With<HttpTriggerAttribute>().Select(f =>
        {
            var trigger = f.Trigger.GetCustomAttribute<HttpTriggerAttribute>()!;
            var matcher = new TemplateMatcher(TemplateParser.Parse(trigger.Route!), []);
            return new Route(f.Method, matcher, [.. trigger.Methods!.Select(m => m.ToUpperInvariant())]);
        }),
    ];

    public async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new ArgumentException("The request has no URI.", nameof(request));
        var relative = uri.IsAbsoluteUri ? uri.PathAndQuery : "/" + uri.OriginalString.TrimStart('/');
        var queryAt = relative.IndexOf('?', StringComparison.Ordinal);
        var path = PathString.FromUriComponent(queryAt < 0 ? relative : relative[..queryAt]);

        await using var scope = services.CreateAsyncScope();
        var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
        using var aborted = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        context.RequestAborted = aborted.Token;
        context.Request.Method = request.Method.Method;
        context.Request.Scheme = "http";
        context.Request.Host = new HostString("localhost", 7071);
        context.Request.Path = path;
        context.Request.QueryString = queryAt < 0 ? QueryString.Empty : QueryString.FromUriComponent(relative[queryAt..]);
        foreach (var header in request.Headers)
        {
            context.Request.Headers[header.Key] = header.Value.ToArray();
        }

        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        if (request.Content is not null)
        {
            foreach (var header in request.Content.Headers)
            {
                context.Request.Headers[header.Key] = header.Value.ToArray();
            }

            context.Request.ContentLength = body.Length;
        }

        context.Request.Body = new MemoryStream(body, writable: false);
        var responseBody = new MemoryStream();
        context.Response.Body = responseBody;

        if (!path.StartsWithSegments("/" + RoutePrefix, out var remaining) || !TryRoute(remaining, context.Request.Method, out var route, out var values))
        {
            // What the Functions host answers when no trigger matches.
            return new HttpResponseMessage(HttpStatusCode.NotFound) { RequestMessage = request, Content = new ByteArrayContent([]) };
        }

        var target = route.Method.IsStatic ? null : ActivatorUtilities.CreateInstance(scope.ServiceProvider, route.Method.DeclaringType!);
        var arguments = route.Method.GetParameters().Select(p => Bind(p, context, values)).ToArray();
        var result = await FunctionsDurableTasks.InvokeAsync(route.Method, target, arguments);
        if (result is not IResult httpResult)
        {
            throw new InvalidOperationException($"{route.Method.Name} returned {result?.GetType().Name ?? "null"}; the HTTP triggers return IResult.");
        }

        await httpResult.ExecuteAsync(context);

        return ToResponseMessage(context.Response, responseBody.ToArray(), request);
    }

    bool TryRoute(PathString remaining, string method, out Route route, out RouteValueDictionary values)
    {
        foreach (var candidate in Routes)
        {
            values = [];
            if (candidate.Methods.Contains(method.ToUpperInvariant()) && candidate.Matcher.TryMatch(remaining, values))
            {
                route = candidate;
                return true;
            }
        }

        route = null!;
        values = [];
        return false;
    }

    object? Bind(ParameterInfo parameter, HttpContext context, RouteValueDictionary values) => parameter.ParameterType switch
    {
        var t when t == typeof(HttpRequest) => context.Request,
        var t when t == typeof(DurableTaskClient) => client,
        var t when t == typeof(CancellationToken) => context.RequestAborted,
        var t when t == typeof(string) => values.TryGetValue(parameter.Name!, out var v) ? Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) : null,
        _ => throw new InvalidOperationException($"No binding for parameter {parameter.Name} of type {parameter.ParameterType.Name}."),
    };

    static HttpResponseMessage ToResponseMessage(HttpResponse response, byte[] body, HttpRequestMessage request)
    {
        var message = new HttpResponseMessage((HttpStatusCode)response.StatusCode)
        {
            Content = new ByteArrayContent(body),
            RequestMessage = request,
        };
        foreach (var header in response.Headers)
        {
            if (!message.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray()))
            {
                message.Content.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
            }
        }

        return message;
    }

    sealed record Route(MethodInfo Method, TemplateMatcher Matcher, IReadOnlyList<string> Methods);
}
