using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AgentFunctions.Local.Tests;

/// <summary>
/// A client that disconnects mid-request: the durable client's gRPC call then fails with RpcException Cancelled,
/// which serve logged as "fail: … An unhandled exception has occurred" with a stack trace. Nobody is there to
/// answer, so it is a debug line now.
/// </summary>
public sealed class AbortedRequestTests(ServeProcessFixture fixture) : IClassFixture<ServeProcessFixture>
{
    static CancellationToken Token => TestContext.Current.CancellationToken;

    /// <summary>
    /// Deterministic: serve's pipeline in process with an endpoint that, like a durable client call, throws
    /// RpcException(Cancelled) once the client has gone; the client goes only after the endpoint has started.
    /// </summary>
    [Fact]
    public async Task A_grpc_call_cancelled_by_a_departed_client_is_not_logged_as_an_error()
    {
        var logs = new ConcurrentQueue<(LogLevel Level, string Category, string Message)>();
        var started = new SemaphoreSlim(0);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Debug);
        builder.Logging.AddProvider(new ListLoggerProvider(logs));
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddProblemDetails();
        ServePipeline.Configure(builder, new ServeKey(null));
        await using var app = builder.Build();
        var finished = new SemaphoreSlim(0);
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context); // serve's pipeline: what it logs, it has logged when this returns
            }
            finally
            {
                finished.Release();
            }
        });
        ServePipeline.Use(app);
        app.MapGet("/slow", async (HttpContext context) =>
        {
            started.Release();
            try
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }
            catch (OperationCanceledException ex)
            {
                // What Grpc.Net.Client throws when the call's token is cancelled.
                throw new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client.", ex));
            }
        });
        await app.StartAsync(Token);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };

        for (var i = 0; i < 5; i++)
        {
            using var gone = CancellationTokenSource.CreateLinkedTokenSource(Token);
            var request = http.GetAsync("slow", gone.Token);
            Assert.True(await started.WaitAsync(TimeSpan.FromSeconds(30), Token), "the endpoint did not start");
            await gone.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => request);
        }

        // Once the pipeline has returned from all five, everything it logs about them is logged.
        for (var i = 0; i < 5; i++)
        {
            Assert.True(await finished.WaitAsync(TimeSpan.FromSeconds(30), Token), "the pipeline did not finish a dropped request");
        }

        Assert.Empty(logs.Where(l => l.Level >= LogLevel.Warning).Select(l => $"{l.Level} {l.Category}: {l.Message}"));
        await app.StopAsync(Token);
    }

    /// <summary>The real serve process: 40 requests cut off by the client after 10–200 ms leave no "fail:" line.</summary>
    [Fact]
    public async Task Requests_cut_off_by_the_client_leave_no_error_in_the_serve_log()
    {
        using var http = new HttpClient { BaseAddress = fixture.Serve.BaseAddress };
        for (var i = 0; i < 40; i++)
        {
            using var cut = CancellationTokenSource.CreateLinkedTokenSource(Token);
            cut.CancelAfter(TimeSpan.FromMilliseconds(10 + (i * 5 % 190)));
            try
            {
                using var content = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
                using var response = i % 2 == 0
                    ? await http.PostAsync("api/agent-sessions", content, cut.Token)
                    : await http.GetAsync("api/agent-jobs?top=200", cut.Token);
            }
            catch (OperationCanceledException)
            {
                // Cut off, as intended.
            }
        }

        await Task.Delay(1000, Token); // what the server logs about the last ones
        var errors = fixture.Serve.Output.Split('\n').Where(line =>
            line.Contains("fail:", StringComparison.Ordinal) || line.Contains("unhandled exception", StringComparison.OrdinalIgnoreCase));
        Assert.True(!errors.Any(), "serve logged errors for requests the client cut off:\n" + string.Join("\n", errors.Select(line => line.Length > 1500 ? line[..1500] : line)));
    }

    sealed class ListLoggerProvider(ConcurrentQueue<(LogLevel, string, string)> logs) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(logs, categoryName);

        public void Dispose()
        {
        }

        sealed class ListLogger(ConcurrentQueue<(LogLevel, string, string)> logs, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                logs.Enqueue((logLevel, category, formatter(state, exception)));
        }
    }
}
