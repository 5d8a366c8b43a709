using System.Net;
using LocalAgentService.Admin;
using LocalAgentService.Engine;
using LocalAgentService.Faults;
using LocalAgentService.Protocols;
using LocalAgentService.Protocols.Classic;
using LocalAgentService.Protocols.Foundry;
using LocalAgentService.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LocalAgentService.Hosting;

/// <summary>Builds the web application; shared by the standalone program and <see cref="LocalAgentServer"/>.</summary>
internal static class ServiceApp
{
    public const string DefaultUrl = "http://127.0.0.1:5110";

    /// <summary>
    /// Standalone (<paramref name="embedded"/> null): options come from configuration (appsettings, env, command line)
    /// and Kestrel binds <c>--urls</c> or 127.0.0.1:5110. Embedded: the given options, 127.0.0.1 on <see cref="LocalAgentServerOptions.Port"/>.
    /// </summary>
    public static WebApplication Build(string[] args, LocalAgentServerOptions? embedded)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(ServiceApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        var options = embedded ?? FromConfiguration(builder.Configuration);

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            kestrel.AddServerHeader = false;
            if (embedded is not null)
            {
                kestrel.Listen(IPAddress.Loopback, options.Port);
            }
        });
        if (embedded is null && string.IsNullOrEmpty(builder.Configuration["urls"]))
        {
            builder.WebHost.UseUrls(DefaultUrl);
        }

        if (embedded is not null)
        {
            // Embedded: the options object is the whole configuration; the host's files and environment must not leak in.
            builder.Configuration.Sources.Clear();
            builder.Logging.SetMinimumLevel(LogLevel.Warning);
        }

        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(options.Simulation);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RunWorkQueue>();
        builder.Services.AddSingleton<AgentStore>();
        builder.Services.AddSingleton<SimulatedModel>();
        builder.Services.AddSingleton<ModelRouter>();
        builder.Services.AddSingleton<FaultInjector>();
        builder.Services.AddHostedService<RunEngine>();

        var app = builder.Build();
        app.Use(Middleware.Errors);
        app.Use(Middleware.ApiKey(options.ApiKey));
        app.UseRouting();
        app.Use(Middleware.Faults);

        ClassicRoutes.Map(app.MapGroup("/v1"));
        ClassicRoutes.Map(app.MapGroup("/openai").AddEndpointFilter(RequireApiVersion));
        ClassicRoutes.Map(app.MapGroup("/api/projects/{project}").AddEndpointFilter(RequireApiVersion));
        FoundryRoutes.MapAgents(app.MapGroup("/api/projects/{project}").AddEndpointFilter(RequireApiVersion));
        FoundryRoutes.MapOpenAI(app.MapGroup("/api/projects/{project}/openai/v1"));
        FoundryRoutes.MapOpenAI(app.MapGroup("/v1"));
        AdminRoutes.Map(app);
        app.MapFallback((HttpContext context) =>
            throw new ServiceException(404, $"Invalid URL ({context.Request.Method} {context.Request.Path}).", code: "not_found"));
        return app;
    }

    /// <summary>Binds <c>LocalAgentService:ApiKey</c>, <c>LocalAgentService:MaxRequestBodyBytes</c>, <c>Simulation:*</c>, <c>Models:*</c>, <c>Faults:*</c>.</summary>
    public static LocalAgentServerOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new LocalAgentServerOptions
        {
            ApiKey = configuration["LocalAgentService:ApiKey"],
        };
        if (long.TryParse(configuration["LocalAgentService:MaxRequestBodyBytes"], out long max))
        {
            options.MaxRequestBodyBytes = max;
        }

        configuration.GetSection("Simulation").Bind(options.Simulation);
        foreach (var model in configuration.GetSection("Models").GetChildren())
        {
            options.Models[model.Key] = model.Get<ModelEndpointOptions>() ?? new ModelEndpointOptions();
        }

        foreach (var fault in configuration.GetSection("Faults").GetChildren())
        {
            options.Faults.Add(fault.Get<FaultRule>() ?? new FaultRule());
        }

        return options;
    }

    /// <summary>The Azure and project shapes require <c>api-version</c>, as the real services do.</summary>
    private static ValueTask<object?> RequireApiVersion(EndpointFilterInvocationContext context, EndpointFilterDelegate next) =>
        string.IsNullOrEmpty(context.HttpContext.Request.Query["api-version"])
            ? throw ServiceException.Invalid("Missing required query parameter 'api-version' (e.g. api-version=v1).", "api-version", "missing_required_parameter")
            : next(context);
}
