using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentFunctions.Local.Tests.Support;

/// <summary>
/// HTTP/1.1 by hand over a socket to 127.0.0.1, for requests a client library would refuse to send or would fix
/// (a NUL in the path, a made-up method, a malformed Content-Type, oversized lines): the exact bytes go out, and the
/// response is read to the end (every request says <c>Connection: close</c>).
/// </summary>
public static class RawHttp
{
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
    {
        public string? ContentType => Headers.TryGetValue("Content-Type", out var value) ? value : null;

        public string Text => Encoding.UTF8.GetString(Body);
    }

    /// <summary>A request: request line, headers (Host and Connection: close added), then the body as given (no Content-Length added).</summary>
    public static byte[] Request(string requestLine, IEnumerable<string>? headers = null, byte[]? body = null)
    {
        var head = new StringBuilder().Append(requestLine).Append("\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
        foreach (var header in headers ?? [])
        {
            head.Append(header).Append("\r\n");
        }

        head.Append("\r\n");
        return [.. Encoding.Latin1.GetBytes(head.ToString()), .. body ?? []];
    }

    /// <summary>A request with a UTF-8 body and its Content-Length.</summary>
    public static byte[] WithBody(string requestLine, string? contentType, byte[] body, params string[] headers) =>
        Request(requestLine, [.. contentType is null ? [] : new[] { $"Content-Type: {contentType}" }, $"Content-Length: {body.Length}", .. headers], body);

    /// <summary>The same request naming another host in its Host header (what a rebound DNS name or a lying client sends).</summary>
    public static byte[] WithHost(byte[] request, string host)
    {
        var text = Encoding.Latin1.GetString(request);
        var at = text.IndexOf("\r\nHost: 127.0.0.1\r\n", StringComparison.Ordinal);
        return at < 0
            ? throw new ArgumentException("The request has no Host header to replace.", nameof(request))
            : Encoding.Latin1.GetBytes(string.Concat(text.AsSpan(0, at), $"\r\nHost: {host}\r\n", text.AsSpan(at + "\r\nHost: 127.0.0.1\r\n".Length)));
    }

    /// <summary>Sends the bytes to 127.0.0.1:<paramref name="port"/> and reads the whole response.</summary>
    public static async Task<Response> SendAsync(int port, byte[] request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port, timeout.Token);
        var stream = client.GetStream();
        try
        {
            await stream.WriteAsync(request, timeout.Token);
        }
        catch (IOException)
        {
            // The server may answer and close before reading all of an oversized request; read what it sent.
        }

        using var received = new MemoryStream();
        var buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (IOException) when (received.Length > 0)
        {
            // Reset after the response: what arrived is the answer.
        }

        return Parse(received.ToArray());
    }

    static Response Parse(byte[] raw)
    {
        var text = Encoding.Latin1.GetString(raw);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            throw new InvalidDataException($"No complete response head in {raw.Length} bytes: {text}");
        }

        var lines = text[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var body = raw[(end + 4)..];
        if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return new Response(status, headers, body);
    }

    static byte[] Dechunk(byte[] chunked)
    {
        using var body = new MemoryStream();
        var at = 0;
        while (at < chunked.Length)
        {
            var lineEnd = Array.IndexOf(chunked, (byte)'\n', at);
            var size = Convert.ToInt32(Encoding.Latin1.GetString(chunked, at, lineEnd - at).Trim().Split(';')[0], 16);
            if (size == 0)
            {
                break;
            }

            body.Write(chunked, lineEnd + 1, size);
            at = lineEnd + 1 + size + 2;
        }

        return body.ToArray();
    }
}
