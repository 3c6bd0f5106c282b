using System.Net;
using System.Net.Sockets;

namespace Egressd.Tests.Infrastructure;

/// <summary>Real TCP and UDP exchanges of known sizes between lab hosts.</summary>
internal static class Traffic
{
    /// <summary>
    /// <paramref name="client"/> connects to <paramref name="target"/>:<paramref name="port"/>
    /// (served by <paramref name="server"/> on <paramref name="serverPort"/>), sends
    /// <paramref name="upload"/> bytes, receives <paramref name="download"/> bytes, and both close.
    /// Returns the client's local port.
    /// </summary>
    public static async Task<int> TcpExchangeAsync(NetnsLab lab, string client, string server, IPAddress target, int port, int serverPort, int upload, int download)
    {
        var family = target.AddressFamily;
        using var listener = lab.SocketIn(server, family, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, serverPort));
        listener.Listen();
        var serving = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptAsync();
            var buffer = new byte[64 * 1024];
            var total = 0;
            while (total < upload)
            {
                var n = await accepted.ReceiveAsync(buffer);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            await SendAllAsync(accepted, download);
            accepted.Shutdown(SocketShutdown.Send);
            while (await accepted.ReceiveAsync(buffer) > 0)
            {
            }
        });

        using var socket = lab.SocketIn(client, family, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(target, port));
        var localPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        await SendAllAsync(socket, upload);
        var received = 0;
        var read = new byte[64 * 1024];
        while (received < download)
        {
            var n = await socket.ReceiveAsync(read);
            if (n == 0)
            {
                break;
            }

            received += n;
        }

        socket.Shutdown(SocketShutdown.Both);
        socket.Close();
        await serving.WaitAsync(TimeSpan.FromSeconds(30));
        if (received != download)
        {
            throw new InvalidOperationException($"received {received} of {download} bytes");
        }

        return localPort;
    }

    /// <summary>Sends <paramref name="datagrams"/> datagrams of <paramref name="size"/> bytes; each is answered with one of <paramref name="replySize"/>.</summary>
    public static async Task<int> UdpExchangeAsync(NetnsLab lab, string client, string server, IPAddress target, int port, int serverPort, int datagrams, int size, int replySize)
    {
        var family = target.AddressFamily;
        using var listener = lab.SocketIn(server, family, SocketType.Dgram, ProtocolType.Udp);
        listener.Bind(new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, serverPort));
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            var reply = new byte[replySize];
            for (var i = 0; i < datagrams; i++)
            {
                var result = await listener.ReceiveFromAsync(buffer, new IPEndPoint(family == AddressFamily.InterNetwork ? IPAddress.Any : IPAddress.IPv6Any, 0));
                await listener.SendToAsync(reply, result.RemoteEndPoint);
            }
        });

        using var socket = lab.SocketIn(client, family, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(new IPEndPoint(target, port));
        var localPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var payload = new byte[size];
        var answer = new byte[65536];
        for (var i = 0; i < datagrams; i++)
        {
            await socket.SendAsync(payload);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ReceiveAsync(answer, timeout.Token);
        }

        await serving.WaitAsync(TimeSpan.FromSeconds(30));
        return localPort;
    }

    private static async Task SendAllAsync(Socket socket, int count)
    {
        var chunk = new byte[Math.Min(count, 64 * 1024)];
        var left = count;
        while (left > 0)
        {
            var n = await socket.SendAsync(chunk.AsMemory(0, Math.Min(left, chunk.Length)));
            left -= n;
        }
    }
}
