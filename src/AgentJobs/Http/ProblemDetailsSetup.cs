using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AgentJobs.Http;

/// <summary>
/// RFC 9457 problem details for every error a host's own code answers: ASP.NET Core's <see cref="IProblemDetailsService"/>
/// (used by <c>Results.Problem</c>, status code pages and the exception handler) with one <c>type</c> per status,
/// written as <c>application/problem+json</c> even when the client's Accept header asks for something else.
/// </summary>
public static class ProblemDetailsSetup
{
    /// <summary>The <c>type</c> of a problem with this status, e.g. <c>https://httpstatuses.io/404</c>.</summary>
    public static string TypeOf(int status) => $"https://httpstatuses.io/{status}";

    /// <summary>Registers the problem details service the way both hosts answer errors.</summary>
    public static IServiceCollection AddAgentJobsProblemDetails(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            if (context.ProblemDetails.Status is { } status)
            {
                context.ProblemDetails.Type = TypeOf(status);
            }
        });

        // After the default writer, which declines when Accept names neither JSON type (e.g. a browser's text/html):
        // an error is still a problem document, never a plain-text or empty body.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IProblemDetailsWriter, FallbackProblemDetailsWriter>());
        return services;
    }

    sealed class FallbackProblemDetailsWriter(IOptions<ProblemDetailsOptions> options) : IProblemDetailsWriter
    {
        public bool CanWrite(ProblemDetailsContext context) => true;

        public ValueTask WriteAsync(ProblemDetailsContext context)
        {
            var http = context.HttpContext;
            var problem = context.ProblemDetails;
            problem.Status ??= http.Response.StatusCode;
            problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
            problem.Extensions.TryAdd("traceId", Activity.Current?.Id ?? http.TraceIdentifier);
            options.Value.CustomizeProblemDetails?.Invoke(context);
            return new ValueTask(http.Response.WriteAsJsonAsync<ProblemDetails>(problem, AgentJobsApi.JsonOptions, "application/problem+json", http.RequestAborted));
        }
    }
}
