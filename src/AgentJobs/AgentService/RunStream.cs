using System.ClientModel;
using AgentJobs.Contracts;

namespace AgentJobs.AgentService;

/// <summary>
/// Follows a streamed run for a bounded window (stream-first waiting). The run states a stream yields are read until
/// one is settled — ended, or waiting for tool outputs — or the window passes, or the stream ends or breaks. A stream
/// that breaks after the run was seen is not an error: the run as last seen is returned, and the workflow polls it
/// from there with durable timers.
/// </summary>
internal static class RunStream
{
    /// <summary>What following a stream gave.</summary>
    /// <param name="Last">The run as last seen; null when the stream yielded no run at all.</param>
    /// <param name="ResumeAfter">The last event's sequence number, where the protocol numbers events (to resume after a drop).</param>
    public sealed record Followed(RunState? Last, long? ResumeAfter)
    {
        /// <summary>Whether the run needs nothing more from the stream: it ended or waits for tool outputs.</summary>
        public bool Settled => Last is { IsSettled: true };
    }

    /// <summary>
    /// Reads <paramref name="events"/> until a settled run, the end of <paramref name="window"/>, or the end of the
    /// stream. Failures before the first run state propagate (the caller decides between retry and fallback);
    /// transport failures after it end the read quietly.
    /// </summary>
    /// <param name="events">Opens the stream: run states with their sequence numbers (null where the protocol has none).</param>
    /// <param name="window">How long to hold the stream.</param>
    /// <param name="resumeAfter">A sequence number already seen, carried over from an earlier read of the same run.</param>
    /// <param name="cancellationToken">Cancels the whole call.</param>
    public static async Task<Followed> FollowAsync(
        Func<CancellationToken, IAsyncEnumerable<(RunState Run, long? Sequence)>> events, TimeSpan window, long? resumeAfter, CancellationToken cancellationToken)
    {
        using var held = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        held.CancelAfter(window);
        RunState? last = null;
        var sequence = resumeAfter;
        try
        {
            await foreach (var (run, number) in events(held.Token).WithCancellation(held.Token).ConfigureAwait(false))
            {
                last = run;
                sequence = number ?? sequence;
                if (run.IsSettled)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The window is over: the run is polled from here.
        }
        catch (Exception ex) when (last is not null && IsBreak(ex))
        {
            // Dropped mid-stream: same as the window ending early.
        }

        return new Followed(last, sequence);
    }

    /// <summary>Whether a failure is the stream breaking (transport, or an unreadable event) rather than the service refusing.</summary>
    public static bool IsBreak(Exception ex) =>
        ex is IOException or HttpRequestException or System.Text.Json.JsonException or FormatException or InvalidOperationException ||
        (ex is ClientResultException result && result.Status == 0);

    /// <summary>
    /// Whether the service refused the streamed form of a request (so the plain form is tried): statuses a service
    /// that does not stream, or does not stream that route, answers.
    /// </summary>
    public static bool IsUnsupported(Exception ex) =>
        ex is ClientResultException { Status: 400 or 404 or 405 or 406 or 415 or 501 };
}
