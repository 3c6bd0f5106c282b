using System.Net;
using System.Net.Sockets;

namespace Egressd.Tests.Infrastructure;

/// <summary>A long-lived TCP connection from a to c; c answers 100 bytes per chunk it receives.</summary>
internal sealed class LiveConnection : IAsyncDisposable
{
    private readonly Socket listener;
    private readonly Socket client;
    private readonly Task serving;
    private bool closed;

    private LiveConnection(Socket listener, Socket client, Task serving)
    {
        this.listener = listener;
        this.client = client;
        this.serving = serving;
        LocalPort = ((IPEndPoint)client.LocalEndPoint!).Port;
    }

    /// <summary>The client's port: with the protocol and addresses, what picks its conntrack entry.</summary>
    public int LocalPort { get; }

    public static async Task<LiveConnection> OpenAsync(NetnsLab lab, int port)
    {
        var listener = lab.SocketIn("c", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Any, port));
        listener.Listen();
        var serving = Task.Run(async () =>
        {
            using var peer = await listener.AcceptAsync();
            var buffer = new byte[65536];
            try
            {
                while (await peer.ReceiveAsync(buffer) > 0)
                {
                    await peer.SendAsync(buffer.AsMemory(0, 100));
                }
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.Shutdown or SocketError.ConnectionReset)
            {
                // The client closed while an answer was on its way: the end of the connection, not a failure.
            }
        });
        var client = lab.SocketIn("a", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(new IPEndPoint(IPAddress.Parse(NetnsLab.V4("c")), port));
        return new LiveConnection(listener, client, serving);
    }

    /// <summary>10 kB every 20 ms for <paramref name="duration"/>.</summary>
    public async Task TrafficAsync(TimeSpan duration)
    {
        var chunk = new byte[10_000];
        var until = DateTime.UtcNow + duration;
        while (DateTime.UtcNow < until)
        {
            await client.SendAsync(chunk);
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (closed)
        {
            return;
        }

        closed = true;
        client.Shutdown(SocketShutdown.Both);
        client.Close();
        await serving.WaitAsync(TimeSpan.FromSeconds(10));
        listener.Dispose();
    }
}
