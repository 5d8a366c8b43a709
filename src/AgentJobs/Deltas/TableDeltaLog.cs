using System.Globalization;
using System.Text;
using Azure;
using Azure.Data.Tables;

namespace AgentJobs.Deltas;

/// <summary>
/// The delta log in a table of the task hub's storage account (<c>{taskHub}Deltas</c>), for the Azure Storage backend
/// and the Functions app. One partition per job (the purge deletes it), one entity per flush of a call (row key
/// <c>{call}|{seq:D9}</c>, so a call's entries are a range read in order). Why a table: a reader on any worker gets
/// "the entries after N" in one ranged query, entries of one flush go in one entity-group transaction (one
/// operation), and the rows carry the run/item ids and the foundry sequence number a retried call resumes after.
/// Blobs would need a read of the whole (append) blob or byte offsets per reader; queue messages are consumed by one
/// reader, not read by many.
/// </summary>
public sealed class TableDeltaLog(Func<TableServiceClient> service, string tableName) : IDeltaLog
{
    readonly Lazy<TableClient> table = new(() => service().GetTableClient(tableName));
    int created;
    long operations;

    /// <summary>The log on the storage account of <paramref name="connectionString"/>, in the task hub's table.</summary>
    public static TableDeltaLog FromConnectionString(string connectionString, string taskHub) =>
        new(() => new TableServiceClient(connectionString), TableName(taskHub));

    /// <summary>The table's name: the task hub's name (letters and digits) followed by <c>Deltas</c>.</summary>
    public static string TableName(string? taskHub)
    {
        var hub = new string([.. (taskHub ?? "").Where(char.IsAsciiLetterOrDigit)]);
        hub = hub.Length == 0 || !char.IsAsciiLetter(hub[0]) ? "AgentJobs" + hub : hub;
        return (hub.Length > 57 ? hub[..57] : hub) + "Deltas";
    }

    /// <inheritdoc/>
    public long Operations => Interlocked.Read(ref operations);

    /// <inheritdoc/>
    public async Task AppendAsync(string jobId, string callKey, IReadOnlyList<TextDelta> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        var client = await TableAsync(cancellationToken).ConfigureAwait(false);
        var partition = Escape(jobId);
        Interlocked.Increment(ref operations);
        if (entries.Count == 1)
        {
            await client.UpsertEntityAsync(ToEntity(partition, callKey, entries[0]), TableUpdateMode.Replace, cancellationToken).ConfigureAwait(false);
            return;
        }

        // One flush can hold entries of several messages; they go together, in one transaction (at most 100).
        foreach (var chunk in entries.Chunk(100))
        {
            await client.SubmitTransactionAsync(
                [.. chunk.Select(e => new TableTransactionAction(TableTransactionActionType.UpsertReplace, ToEntity(partition, callKey, e)))],
                cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<TextDelta>> ReadAsync(string jobId, string callKey, int afterSeq, CancellationToken cancellationToken)
    {
        var client = await TableAsync(cancellationToken).ConfigureAwait(false);
        var call = Escape(callKey);
        var filter = TableClient.CreateQueryFilter(
            $"PartitionKey eq {Escape(jobId)} and RowKey gt {RowKey(call, afterSeq)} and RowKey lt {call + "|~"}");
        var result = new List<TextDelta>();
        try
        {
            await foreach (var page in client.QueryAsync<TableEntity>(filter, cancellationToken: cancellationToken).AsPages().ConfigureAwait(false))
            {
                Interlocked.Increment(ref operations);
                result.AddRange(page.Values.Select(FromEntity));
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No table yet: nothing was logged.
        }

        return result;
    }

    /// <inheritdoc/>
    public async Task<int> DeleteJobAsync(string jobId, CancellationToken cancellationToken)
    {
        var client = await TableAsync(cancellationToken).ConfigureAwait(false);
        var partition = Escape(jobId);
        var keys = new List<string>();
        await foreach (var page in client.QueryAsync<TableEntity>(
            TableClient.CreateQueryFilter($"PartitionKey eq {partition}"), select: ["RowKey"], cancellationToken: cancellationToken).AsPages().ConfigureAwait(false))
        {
            Interlocked.Increment(ref operations);
            keys.AddRange(page.Values.Select(e => e.RowKey));
        }

        foreach (var chunk in keys.Chunk(100))
        {
            Interlocked.Increment(ref operations);
            await client.SubmitTransactionAsync(
                [.. chunk.Select(k => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, k), ETag.All))],
                cancellationToken).ConfigureAwait(false);
        }

        return keys.Count;
    }

    async Task<TableClient> TableAsync(CancellationToken cancellationToken)
    {
        var client = table.Value;
        if (Volatile.Read(ref created) == 0)
        {
            Interlocked.Increment(ref operations);
            await client.CreateIfNotExistsAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref created, 1);
        }

        return client;
    }

    static TableEntity ToEntity(string partition, string callKey, TextDelta e)
    {
        var entity = new TableEntity(partition, RowKey(Escape(callKey), e.Seq))
        {
            ["Text"] = e.Text,
            ["RunId"] = e.RunId,
            ["ItemId"] = e.ItemId,
            ["AtUtc"] = DateTime.SpecifyKind(e.AtUtc, DateTimeKind.Utc),
            ["Truncated"] = e.Truncated,
        };
        if (e.StreamSequence is { } sequence)
        {
            entity["StreamSequence"] = sequence;
        }

        return entity;
    }

    static TextDelta FromEntity(TableEntity e) => new(
        int.Parse(e.RowKey[(e.RowKey.LastIndexOf('|') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture),
        e.GetString("RunId") ?? "",
        e.GetString("ItemId"),
        e.GetString("Text") ?? "",
        e.GetInt64("StreamSequence"),
        e.GetDateTimeOffset("AtUtc")?.UtcDateTime ?? DateTime.UnixEpoch,
        e.GetBoolean("Truncated") ?? false);

    /// <summary><c>{call}|{seq:D9}</c>; -1 gives the key before the call's first entry.</summary>
    static string RowKey(string escapedCall, int seq) =>
        seq < 0 ? escapedCall + "|" : string.Create(CultureInfo.InvariantCulture, $"{escapedCall}|{seq:D9}");

    /// <summary>A key safe for a table: <c>/ \ # ? | %</c> and control characters become <c>%XX</c>.</summary>
    static string Escape(string value)
    {
        var text = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            if (c is '/' or '\\' or '#' or '?' or '|' or '%' or '~' || char.IsControl(c))
            {
                text.Append('%').Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }
}
