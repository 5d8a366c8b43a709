using System.Globalization;

namespace AgentJobs.Events;

/// <summary>
/// The id of a job event (the SSE <c>id:</c>): <c>position.sub.index</c>, compared as a tuple of integers. It is
/// derived from durable history only, so every reader on every host computes the same id for the same event:
/// <list type="bullet">
/// <item><see cref="Position"/>: the index of the job orchestration's history event the event comes from; events of a
/// run poller sub-orchestration carry the position of the parent's event that created the poller.</item>
/// <item><see cref="Sub"/>: 0 for the job's own events; for a poller's events <c>1 + 2 × polls</c> (the job-wide poll
/// count when the poller saw it), plus 1 for the stop-waiting signal, so later poller events compare higher even
/// across the poller's continue-as-new generations.</item>
/// <item><see cref="Index"/>: the n-th event derived from that one history event.</item>
/// </list>
/// </summary>
/// <param name="Position">Index in the job's history.</param>
/// <param name="Sub">0 for the job's events; the poller's poll-based ordinal otherwise.</param>
/// <param name="Index">Index among the events derived from one history event.</param>
public readonly record struct JobEventId(int Position, int Sub, int Index) : IComparable<JobEventId>
{
    /// <summary>Before every event: a stream without <c>Last-Event-ID</c> starts here.</summary>
    public static JobEventId Start { get; } = new(-1, 0, 0);

    /// <inheritdoc/>
    public int CompareTo(JobEventId other) =>
        Position != other.Position ? Position.CompareTo(other.Position)
        : Sub != other.Sub ? Sub.CompareTo(other.Sub)
        : Index.CompareTo(other.Index);

    /// <summary>Whether <paramref name="left"/> comes after <paramref name="right"/>.</summary>
    public static bool operator >(JobEventId left, JobEventId right) => left.CompareTo(right) > 0;

    /// <summary>Whether <paramref name="left"/> comes before <paramref name="right"/>.</summary>
    public static bool operator <(JobEventId left, JobEventId right) => left.CompareTo(right) < 0;

    /// <summary>Whether <paramref name="left"/> comes after or is <paramref name="right"/>.</summary>
    public static bool operator >=(JobEventId left, JobEventId right) => left.CompareTo(right) >= 0;

    /// <summary>Whether <paramref name="left"/> comes before or is <paramref name="right"/>.</summary>
    public static bool operator <=(JobEventId left, JobEventId right) => left.CompareTo(right) <= 0;

    /// <summary>The wire form, <c>position.sub.index</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Position}.{Sub}.{Index}");

    /// <summary>Parses the wire form; false for anything else (at most 64 characters, three non-negative integers).</summary>
    public static bool TryParse(string? text, out JobEventId id)
    {
        id = Start;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 64)
        {
            return false;
        }

        var parts = text.Trim().Split('.');
        if (parts.Length != 3
            || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var position)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var sub)
            || !int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            return false;
        }

        id = new JobEventId(position, sub, index);
        return true;
    }
}
