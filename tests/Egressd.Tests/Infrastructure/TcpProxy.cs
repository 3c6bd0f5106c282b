using System.Net;
using System.Net.Sockets;

namespace Egressd.Tests.Infrastructure;

/// <summary>
/// A TCP forwarder in front of the broker on a port of its own. Until <see cref="Open"/> nothing
/// listens there, exactly as when the broker is not up yet; <see cref="Close"/> drops every
/// connection and stops listening, as when the broker goes away.
/// </summary>
internal sealed class TcpProxy(string targetHost, int targetPort) : IAsyncDisposable
{
    private readonly Lock gate = new();
    private readonly List<TcpClient> connections = [];
    private TcpListener? listener;
    private CancellationTokenSource? running;

    public int Port { get; } = FreePort.Next();

    public void Open()
    {
        lock (gate)
        {
            if (listener is not null)
            {
                return;
            }

            listener = new TcpListener(IPAddress.Loopback, Port);
            listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            listener.Start();
            running = new CancellationTokenSource();
            _ = AcceptAsync(listener, running.Token);
        }
    }

    public void Close()
    {
        lock (gate)
        {
            running?.Cancel();
            listener?.Stop();
            listener = null;
            foreach (var connection in connections)
            {
                connection.Dispose();
            }

            connections.Clear();
        }
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    private async Task AcceptAsync(TcpListener server, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await server.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var upstream = new TcpClient();
            try
            {
                await upstream.ConnectAsync(targetHost, targetPort, cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException)
            {
                client.Dispose();
                upstream.Dispose();
                continue;
            }

            lock (gate)
            {
                connections.Add(client);
                connections.Add(upstream);
            }

            _ = PumpAsync(client, upstream, cancellationToken);
            _ = PumpAsync(upstream, client, cancellationToken);
        }
    }

    private static async Task PumpAsync(TcpClient from, TcpClient to, CancellationToken cancellationToken)
    {
        try
        {
            await from.GetStream().CopyToAsync(to.GetStream(), cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException or InvalidOperationException)
        {
            // One side went away; closing both below tells the other.
        }

        from.Dispose();
        to.Dispose();
    }
}
