using System.Diagnostics;
using System.Text;
using AgentJobs.Application;
using AgentJobs.Events;
using AgentJobs.Workflow;
using Microsoft.AspNetCore.Http;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Options;

namespace AgentJobs.Http;

/// <summary>
/// <c>GET /api/agent-jobs/{id}/events</c>: the job's events as Server-Sent Events, derived from durable history
/// (<see cref="JobEventProjector"/>), so the stream is the same on every host and worker and survives restarts.
/// Every event has an <c>id:</c>; a client that reconnects with <c>Last-Event-ID</c> (header, or the
/// <c>lastEventId</c> query parameter) gets exactly the events after it. Comment heartbeats keep idle connections
/// open; the stream closes itself after <see cref="AgentJobEventsOptions.EventStreamMaxSeconds"/> (clients reconnect)
/// and ends after the <c>result</c> event. A reconnect after the result gets 204, which stops EventSource retrying.
/// A session's turn is streamed the same way, by its instance id (<c>{sessionId}:turn:{number:D6}</c>).
/// While a streamed call runs, its text arrives as <c>delta</c> events (read from the delta log every
/// <see cref="AgentJobEventsOptions.EventStreamDeltaPollMilliseconds"/>), in order with the rest and resumable by id.
/// </summary>
/// <param name="options">The stream's settings.</param>
/// <param name="policy">What the jobs client is made with.</param>
/// <param name="history">The host's own history source, if it registered one; else history is read through the request's client.</param>
/// <param name="deltas">The delta log: the text the agent writes, interleaved as <c>delta</c> events while a streamed call runs.</param>
public sealed class AgentJobEventsApi(IOptions<AgentJobEventsOptions> options, AgentJobPolicy policy, IJobHistorySource? history = null, AgentJobs.Deltas.IDeltaLog? deltas = null)
{
    /// <summary>Streams a job's events: 200 <c>text/event-stream</c>; 204 when nothing is left after <c>Last-Event-ID</c> of a finished job; 404; 400 for a malformed <c>Last-Event-ID</c>.</summary>
    public async Task<IResult> StreamAsync(HttpRequest request, string id, DurableTaskClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var instance = string.IsNullOrWhiteSpace(id) ? null : await new AgentJobsClient(client, policy).GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (instance is null || instance.Name is not (AgentJobOrchestrator.Name or Sessions.AgentTurnOrchestrator.Name))
        {
            return Results.Problem(new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Status = StatusCodes.Status404NotFound,
                Title = "Agent job not found",
                Detail = $"No agent job has the id '{id}'.",
                Type = "https://httpstatuses.io/404",
                Extensions = { ["field"] = null },
            });
        }

        var last = JobEventId.Start;
        var lastText = request.Headers["Last-Event-ID"].ToString() is { Length: > 0 } header ? header : request.Query["lastEventId"].ToString();
        if (lastText.Length > 0 && !JobEventId.TryParse(lastText, out last))
        {
            return AgentJobListApi.Bad("Last-Event-ID", "'Last-Event-ID' must be an event id this stream sent, like 12.0.3.");
        }

        var reader = new JobEventReader(history ?? new DurableClientHistorySource(client), id, deltas);
        var (events, finished) = await reader.ReadAsync(last, cancellationToken).ConfigureAwait(false);
        if (finished && !events.Any(e => e.Id > last))
        {
            return Results.StatusCode(StatusCodes.Status204NoContent);
        }

        return new EventStream(reader, events, finished, last, options.Value);
    }

    sealed class EventStream(JobEventReader reader, IReadOnlyList<JobEvent> first, bool firstFinished, JobEventId after, AgentJobEventsOptions settings) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            var cancellationToken = httpContext.RequestAborted;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = "text/event-stream; charset=utf-8";
            response.Headers.CacheControl = "no-cache, no-transform";
            response.Headers["X-Accel-Buffering"] = "no";
            httpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpResponseBodyFeature>()?.DisableBuffering();

            var open = Stopwatch.StartNew();
            var maxOpen = TimeSpan.FromSeconds(Math.Max(1, settings.EventStreamMaxSeconds));
            var heartbeat = TimeSpan.FromSeconds(Math.Max(1, settings.EventStreamHeartbeatSeconds));
            var poll = TimeSpan.FromMilliseconds(Math.Max(50, settings.EventStreamPollMilliseconds));
            var deltaPoll = TimeSpan.FromMilliseconds(Math.Clamp(settings.EventStreamDeltaPollMilliseconds, 10, poll.TotalMilliseconds));
            var sinceWrite = Stopwatch.StartNew();
            var sinceRead = Stopwatch.StartNew();
            var (events, finished) = (first, firstFinished);
            try
            {
                await WriteAsync(response, "retry: 2000\n\n", cancellationToken).ConfigureAwait(false);
                while (true)
                {
                    var text = new StringBuilder();
                    foreach (var e in events.Where(e => e.Id > after))
                    {
                        text.Append("id: ").Append(e.Id).Append('\n')
                            .Append("event: ").Append(e.Type).Append('\n')
                            .Append("data: ").Append(e.Data.ToJsonString()).Append("\n\n");
                        after = e.Id;
                    }

                    if (text.Length > 0)
                    {
                        await WriteAsync(response, text.ToString(), cancellationToken).ConfigureAwait(false);
                        sinceWrite.Restart();
                    }

                    if (finished)
                    {
                        return;
                    }

                    if (open.Elapsed >= maxOpen)
                    {
                        await WriteAsync(response, ": stream time limit reached; reconnect with Last-Event-ID\n\n", cancellationToken).ConfigureAwait(false);
                        return;
                    }

                    if (sinceWrite.Elapsed >= heartbeat)
                    {
                        await WriteAsync(response, ": heartbeat\n\n", cancellationToken).ConfigureAwait(false);
                        sinceWrite.Restart();
                    }

                    // While a call streams text, its new deltas are read often (they follow every event sent so far);
                    // history at the usual pace.
                    if (reader.OpenCall is not null && sinceRead.Elapsed + deltaPoll < poll)
                    {
                        await Task.Delay(deltaPoll, cancellationToken).ConfigureAwait(false);
                        events = await reader.ReadOpenCallAsync(cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    var wait = poll - sinceRead.Elapsed;
                    await Task.Delay(wait > TimeSpan.Zero && reader.OpenCall is null ? wait : deltaPoll, cancellationToken).ConfigureAwait(false);
                    (events, finished) = await reader.ReadAsync(after, cancellationToken).ConfigureAwait(false);
                    sinceRead.Restart();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The client went away.
            }
        }

        static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
        {
            await response.WriteAsync(text, cancellationToken).ConfigureAwait(false);
            await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
