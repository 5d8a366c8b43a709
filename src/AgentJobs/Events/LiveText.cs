using System.Text;
using AgentJobs.Deltas;

namespace AgentJobs.Events;

/// <summary>
/// The text an orchestration's streamed calls have written so far (a job, or a session turn), read piece by piece
/// from the delta log, for watchers in process (the <c>run</c> and <c>chat</c> verbs). Messages are separated as the
/// reply separates them (a blank line).
/// </summary>
/// <param name="history">Where the instance's history is read (to find its streamed calls).</param>
/// <param name="log">The delta log.</param>
/// <param name="instanceId">The job or turn.</param>
public sealed class LiveText(IJobHistorySource history, IDeltaLog log, string instanceId)
{
    readonly Dictionary<string, int> lastSeq = new(StringComparer.Ordinal);
    readonly HashSet<string> ended = new(StringComparer.Ordinal);
    readonly StringBuilder all = new();
    string? lastItem;

    /// <summary>Everything read so far.</summary>
    public string Text => all.ToString();

    /// <summary>The text written since the last call; empty when there is none.</summary>
    public async Task<string> ReadNewAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(history);
        var text = new StringBuilder();
        foreach (var call in JobEventProjector.StreamedCalls(await history.GetHistoryAsync(instanceId, cancellationToken).ConfigureAwait(false)))
        {
            if (ended.Contains(call.Key))
            {
                continue;
            }

            foreach (var entry in await log.ReadAsync(instanceId, call.Key, lastSeq.GetValueOrDefault(call.Key, -1), cancellationToken).ConfigureAwait(false))
            {
                lastSeq[call.Key] = entry.Seq;
                if (entry.Text.Length == 0)
                {
                    continue;
                }

                if (lastItem is not null && entry.ItemId != lastItem)
                {
                    text.Append("\n\n");
                }

                lastItem = entry.ItemId;
                text.Append(entry.Text);
            }

            if (!call.Open)
            {
                ended.Add(call.Key);
            }
        }

        all.Append(text);
        return text.ToString();
    }
}
