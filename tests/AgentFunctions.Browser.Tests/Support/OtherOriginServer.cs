using System.Net;
using System.Net.Sockets;
using System.Text;

namespace AgentFunctions.Browser.Tests.Support;

/// <summary>
/// A web page on another origin than <c>serve</c>'s: a socket on 127.0.0.1 that answers every request with the same
/// HTML page, as a site the user happens to visit would serve it. Enough HTTP/1.1 for a browser's GET.
/// </summary>
public sealed class OtherOriginServer : IAsyncDisposable
{
    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly CancellationTokenSource stop = new();
    readonly Task loop;
    readonly byte[] response;

    public OtherOriginServer(string html)
    {
        var body = Encoding.UTF8.GetBytes(html);
        response = [.. Encoding.ASCII.GetBytes(
            $"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {body.Length}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"), .. body];
        listener.Start();
        loop = Task.Run(AcceptAsync);
    }

    /// <summary>The port the page is served on (127.0.0.1).</summary>
    public int Port => ((IPEndPoint)listener.LocalEndpoint).Port;

    async Task AcceptAsync()
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using (client)
                {
                    try
                    {
                        var stream = client.GetStream();
                        var head = new StringBuilder();
                        var buffer = new byte[4096];
                        while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                        {
                            var read = await stream.ReadAsync(buffer, stop.Token);
                            if (read == 0)
                            {
                                return;
                            }

                            head.Append(Encoding.Latin1.GetString(buffer, 0, read));
                        }

                        await stream.WriteAsync(response, stop.Token);
                    }
                    catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
                    {
                        // The browser went away; nothing to answer.
                    }
                }
            });
        }
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        listener.Stop();
        await loop;
        stop.Dispose();
    }
}
