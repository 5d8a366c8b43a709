using LocalAgentService.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LocalAgentService.Engine;

/// <summary>
/// Drives runs in the background: queued → in_progress → model answer (requires_action / completed / failed),
/// finishes cancels, and expires runs past <c>expires_at</c>. Reads never move a run; only this engine does.
/// </summary>
internal sealed class RunEngine(AgentStore store, RunWorkQueue work, ModelRouter models, SimulationOptions simulation, ILogger<RunEngine> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var sweeper = SweepExpiredAsync(stoppingToken);
        try
        {
            await foreach (var item in work.Reader.ReadAllAsync(stoppingToken))
            {
                // Each run is its own async flow; delays are timers, so hundreds of runs cost no threads.
                _ = ProcessAsync(item, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        await sweeper.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task ProcessAsync(RunWork item, CancellationToken stoppingToken)
    {
        try
        {
            if (item.Kind == RunWorkKind.FinishCancel)
            {
                await DelayAsync(simulation.CancellingMs, stoppingToken);
                store.FinishCancel(item.Run);
                return;
            }

            await DriveAsync(item.Run, stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Cancelled run or stopping host: the store already holds the right status.
        }
        catch (Exception ex)
        {
            logger.RunFailed(ex, item.Run.Id);
            store.Fail(item.Run, "server_error", "The local agent service failed to process the run.");
        }
    }

    private async Task DriveAsync(RunRecord run, CancellationToken stoppingToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, run.Cancellation.Token);
        var ct = linked.Token;
        await DelayAsync(simulation.QueuedMs, ct);
        if (!store.TryStart(run))
        {
            return;
        }

        await DelayAsync(simulation.InProgressMs, ct);
        if (run.Fault == RunFault.Fail)
        {
            store.Fail(run, "server_error", "Injected fault: the run failed.");
            return;
        }

        if (AgentStore.BuildModelRequest(run) is not { } request)
        {
            return;
        }

        try
        {
            var response = await models.Resolve(request.Model).GenerateAsync(request, ct);
            store.ApplyModelResponse(run, response);
        }
        catch (ModelException ex)
        {
            store.Fail(run, ex.Code, ex.Message);
        }
    }

    private async Task SweepExpiredAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(5, simulation.ExpirySweepMs)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            store.ExpireDue();
        }
    }

    private static Task DelayAsync(int ms, CancellationToken ct) => ms > 0 ? Task.Delay(ms, ct) : Task.CompletedTask;
}
