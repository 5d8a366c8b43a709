using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Net;
using System.Text.Json;

namespace AgentJobs.AgentService;

/// <summary>
/// Turns SDK and transport failures into the port's two exception kinds: transient (retry with backoff,
/// honouring the service's retry-after) or not (fail fast with the service's own message).
/// </summary>
internal static class ServiceCall
{
    public static async Task<T> RunAsync<T>(string operation, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (ClientResultException ex)
        {
            throw Translate(operation, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new TransientAgentServiceException($"{operation}: the agent service could not be reached ({ex.Message}).", null, null, ex);
        }
        catch (TaskCanceledException ex) when (ex.InnerException is TimeoutException)
        {
            throw new TransientAgentServiceException($"{operation}: the agent service did not answer in time.", null, null, ex);
        }
        catch (IOException ex)
        {
            throw new TransientAgentServiceException($"{operation}: the connection to the agent service broke ({ex.Message}).", null, null, ex);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is HttpRequestException or IOException or TaskCanceledException))
        {
            // What a client pipeline with retries throws once they are spent: still a transport failure.
            throw new TransientAgentServiceException($"{operation}: the agent service could not be reached ({ex.InnerExceptions[^1].Message}).", null, null, ex);
        }
    }

    /// <summary>Runs a delete; "not found" counts as done and returns false.</summary>
    public static async Task<bool> DeleteAsync(string operation, Func<Task<bool>> call)
    {
        try
        {
            return await RunAsync(operation, call);
        }
        catch (AgentServiceException ex) when (ex.StatusCode == (int)HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public static AgentServiceException Translate(string operation, ClientResultException ex)
    {
        var response = ex.GetRawResponse();
        var status = ex.Status;
        var (code, message) = ReadError(response);
        var text = $"{operation}: {(status == 0 ? "no response" : $"HTTP {status}")}: {message ?? ex.Message}";

        if (status == 0 || status == 408 || status == 429 || status >= 500)
        {
            return new TransientAgentServiceException(text, status == 0 ? null : status, RetryAfter(response), ex);
        }

        return new AgentServiceException(text, status, code, ex);
    }

    /// <summary>The service's poll-after hint on a run read, in milliseconds.</summary>
    public static int? PollAfterMs(PipelineResponse? response) =>
        RetryAfter(response) is { } delay ? (int)Math.Min(int.MaxValue, Math.Ceiling(delay.TotalMilliseconds)) : null;

    /// <summary>Reads <c>retry-after-ms</c> (Azure's millisecond form) or <c>Retry-After</c> (seconds or an HTTP date).</summary>
    public static TimeSpan? RetryAfter(PipelineResponse? response)
    {
        if (response is null)
        {
            return null;
        }

        if (response.Headers.TryGetValue("retry-after-ms", out var ms) &&
            double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds) && milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }

        if (response.Headers.TryGetValue("Retry-After", out var value) && value is not null)
        {
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            {
                var delay = date - DateTimeOffset.UtcNow;
                return delay > TimeSpan.Zero ? delay : TimeSpan.Zero;
            }
        }

        return null;
    }

    // Both error envelopes seen in the protocols: {"error":{"code","message",...}}; anything else is ignored.
    static (string? Code, string? Message) ReadError(PipelineResponse? response)
    {
        try
        {
            var content = response?.Content;
            if (content is null || content.ToMemory().IsEmpty)
            {
                return (null, null);
            }

            using var doc = JsonDocument.Parse(content.ToMemory());
            if (doc.RootElement.ValueKind == JsonValueKind.Object &&
                doc.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                return (Str(error, "code"), Str(error, "message"));
            }
        }
        catch (JsonException)
        {
        }
        catch (InvalidOperationException)
        {
            // Content was streamed and is not buffered; fall back to the SDK's message.
        }

        return (null, null);

        static string? Str(JsonElement e, string name) =>
            e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
    }
}
