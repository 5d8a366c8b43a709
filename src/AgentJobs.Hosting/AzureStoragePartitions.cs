using Azure.Data.Tables;

namespace AgentJobs.Hosting;

/// <summary>One control-queue partition of a task hub and the worker holding its lease.</summary>
/// <param name="Partition">The partition (control queue) name, e.g. <c>agentjobs-control-00</c>.</param>
/// <param name="Owner">The worker id holding the lease, or null when none does.</param>
/// <param name="ExpiresAt">When the lease runs out unless renewed.</param>
public sealed record PartitionOwner(string Partition, string? Owner, DateTimeOffset? ExpiresAt)
{
    /// <summary>Whether <see cref="Owner"/> still holds the lease at <paramref name="now"/>.</summary>
    public bool IsHeldAt(DateTimeOffset now) => Owner is not null && ExpiresAt > now;
}

/// <summary>
/// Reads which worker holds which partition of a task hub on the Azure Storage backend, from the provider's partition
/// table (<c>&lt;task hub&gt;Partitions</c>, kept by its table partition manager): how to see that several
/// <c>serve</c> processes share a task hub, and when a dead one's partitions have moved.
/// </summary>
public static class AzureStoragePartitions
{
    /// <summary>The partitions of <paramref name="taskHub"/>; empty until a worker has created the task hub.</summary>
    public static async Task<IReadOnlyList<PartitionOwner>> ReadAsync(string connectionString, string taskHub, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentException.ThrowIfNullOrWhiteSpace(taskHub);
        var table = new TableClient(connectionString, taskHub + "Partitions");
        var leases = new List<PartitionOwner>();
        try
        {
            await foreach (var row in table.QueryAsync<TableEntity>(cancellationToken: cancellationToken).ConfigureAwait(false))
            {
                leases.Add(new PartitionOwner(
                    row.RowKey,
                    row.GetString("CurrentOwner") is { Length: > 0 } owner ? owner : null,
                    row.GetDateTimeOffset("ExpiresAt")));
            }
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // No table yet: no worker has started on this task hub.
        }

        return leases;
    }
}
