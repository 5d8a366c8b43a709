namespace AgentJobs.Tests.Support;

/// <summary>
/// A meeting point for <paramref name="parties"/> concurrent callers: each waits until all are inside at once.
/// If the callers come one after another, the first waits in vain and times out.
/// </summary>
public sealed class Rendezvous(int parties, TimeSpan timeout)
{
    readonly TaskCompletionSource allInside = new(TaskCreationOptions.RunContinuationsAsynchronously);
    int inside;
    int maxInside;

    /// <summary>The most callers that were inside at the same time.</summary>
    public int MaxInside => Volatile.Read(ref maxInside);

    public async Task<string> ArriveAsync(string who)
    {
        var now = Interlocked.Increment(ref inside);
        InterlockedMax(ref maxInside, now);
        if (now >= parties)
        {
            allInside.TrySetResult();
        }

        try
        {
            await allInside.Task.WaitAsync(timeout);
            return $"met:{who}";
        }
        finally
        {
            Interlocked.Decrement(ref inside);
        }
    }

    static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
