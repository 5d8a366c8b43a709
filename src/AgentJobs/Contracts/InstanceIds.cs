using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace AgentJobs.Contracts;

/// <summary>
/// Every durable instance-id format, in one place. An owner's id (a job, a batch, a session) has no <c>:</c>; the
/// instances it owns are <c>{owner}:{kind}:{…}</c>, so one prefix query finds them all and retention purges them with
/// their owner. These formats are stored state: in-flight instances and purges depend on them, so they never change.
/// </summary>
public static class InstanceIds
{
    const char Separator = ':';

    /// <summary>Poller sub-orchestration <paramref name="number"/> of job (or session turn) <paramref name="jobId"/>: <c>{jobId}:poll:{n}</c>.</summary>
    public static string Poller(string jobId, int number) => $"{jobId}:poll:{number.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The prefix of every poller of <paramref name="jobId"/>.</summary>
    public static string PollerPrefix(string jobId) => jobId + ":poll:";

    /// <summary>Turn <paramref name="number"/> of session <paramref name="sessionId"/>: <c>{sessionId}:turn:{n:D6}</c>.</summary>
    public static string Turn(string sessionId, int number) => $"{sessionId}:turn:{number.ToString("D6", CultureInfo.InvariantCulture)}";

    /// <summary>The prefix of every turn of <paramref name="sessionId"/>.</summary>
    public static string TurnPrefix(string sessionId) => sessionId + ":turn:";

    /// <summary>The mailbox instance holding turn request <paramref name="turnId"/> of a session: <c>{sessionId}:req:{turnId}</c>.</summary>
    public static string MailboxRequest(string sessionId, string turnId) => $"{sessionId}:req:{turnId}";

    /// <summary>The prefix of every turn request in a session's mailbox.</summary>
    public static string MailboxPrefix(string sessionId) => sessionId + ":req:";

    /// <summary>The mailbox instance that marks a session's end request: <c>{sessionId}:end</c>.</summary>
    public static string SessionEnd(string sessionId) => $"{sessionId}:end";

    /// <summary>The instance a session writes when its idle timeout fires: <c>{sessionId}:closing</c>.</summary>
    public static string SessionClosing(string sessionId) => $"{sessionId}:closing";

    /// <summary>The job id of item <paramref name="index"/> of batch <paramref name="batchId"/>: <c>{batchId}:item:{index}</c>.</summary>
    public static string BatchItem(string batchId, int index) => $"{batchId}:item:{index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>The prefix of every instance <paramref name="ownerId"/> owns.</summary>
    public static string OwnedPrefix(string ownerId) => ownerId + Separator;

    /// <summary>Whether <paramref name="id"/> is an owned instance (a poller, turn, item, mailbox record) rather than an owner.</summary>
    public static bool IsOwned(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        return id.Contains(Separator, StringComparison.Ordinal);
    }

    /// <summary>
    /// Reads a job id that belongs to a batch (<c>{batch}:item:{n}</c>, <paramref name="isBatchItem"/> true) or a session
    /// (<c>{session}:turn:{n}</c>): its owner and number, leading zeros kept. False for any other id.
    /// </summary>
    public static bool TryParseOwnedJob(string? id, out string owner, out bool isBatchItem, out string number)
    {
        var parts = id?.Split(Separator) ?? [];
        var owned = parts.Length == 3 && parts[1] is "item" or "turn";
        owner = owned ? parts[0] : "";
        isBatchItem = owned && parts[1] == "item";
        number = owned ? parts[2] : "";
        return owned;
    }

    /// <summary>The id of the job an idempotency key made (<c>POST /api/agent-jobs</c>).</summary>
    public static string KeyedJob(string key) => Keyed("agent-job", key);

    /// <summary>The id of the batch an idempotency key made.</summary>
    public static string KeyedBatch(string key) => Keyed("agent-batch", key);

    /// <summary>The id of the session an idempotency key made.</summary>
    public static string KeyedSession(string key) => Keyed("agent-session", key);

    /// <summary>The turn id an idempotency key made in session <paramref name="sessionId"/>.</summary>
    public static string KeyedTurn(string sessionId, string key) => Keyed("turn:" + sessionId, key);

    /// <summary>The id a key stands for within <paramref name="scope"/> (what the key creates, and where): 32 hex digits.</summary>
    public static string Keyed(string scope, string key) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{scope}\n{key}")))[..32];
}
