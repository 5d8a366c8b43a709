using AgentJobs.Hosting;
using DurableTask.Core;
using Microsoft.DurableTask.Testing.Sidecar;

namespace AgentFunctions.Local.Tests;

/// <summary><see cref="AzureStorageSidecarAdapter"/>'s activity-lock renewal, over a counting stand-in for the provider.</summary>
public class SidecarAdapterTests
{
    static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(20);

    [Fact]
    public async Task A_locked_activity_is_renewed_until_it_completes()
    {
        var provider = new CountingService();
        var adapter = new AzureStorageSidecarAdapter(provider, Interval);

        var workItem = await adapter.LockNextTaskActivityWorkItem(TimeSpan.FromSeconds(1), CancellationToken.None);
        await WaitUntilAsync(() => provider.Renewals >= 2);
        await adapter.AbandonTaskActivityWorkItemAsync(workItem);

        AssertNoMoreRenewals(provider, await SettleAsync(provider));
    }

    [Fact]
    public async Task Stopping_the_adapter_stops_renewals_of_activities_never_completed()
    {
        var provider = new CountingService();
        var adapter = new AzureStorageSidecarAdapter(provider, Interval);

        await adapter.LockNextTaskActivityWorkItem(TimeSpan.FromSeconds(1), CancellationToken.None);
        await WaitUntilAsync(() => provider.Renewals >= 2);
        await adapter.StopAsync();

        AssertNoMoreRenewals(provider, await SettleAsync(provider));
    }

    /// <summary>The count once StopAsync/Abandon returned (they wait for a renewal in flight), after several intervals.</summary>
    static async Task<int> SettleAsync(CountingService provider)
    {
        var stoppedAt = provider.Renewals;
        await Task.Delay(Interval * 10);
        return stoppedAt;
    }

    static void AssertNoMoreRenewals(CountingService provider, int stoppedAt) => Assert.Equal(stoppedAt, provider.Renewals);

    static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "Not renewed within 30 s.");
            await Task.Delay(10);
        }
    }

    /// <summary>Hands out one activity work item per lock and counts lock renewals.</summary>
    sealed class CountingService() : InMemoryOrchestrationService(null), IOrchestrationService
    {
        int renewals;

        public int Renewals => Volatile.Read(ref renewals);

        public new Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken) =>
            Task.FromResult(new TaskActivityWorkItem { Id = Guid.NewGuid().ToString("N") });

        public new Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem)
        {
            Interlocked.Increment(ref renewals);
            return Task.FromResult(workItem);
        }

        public new Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem) => Task.CompletedTask;

        public new Task StopAsync() => Task.CompletedTask;
    }
}
