using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Egressd.Collector.Native;
using Microsoft.Extensions.Options;

namespace Egressd.Local.Demo;

/// <summary>
/// The demo cluster's workloads: real TCP connections between its pods' network namespaces, and
/// real DNS questions for the "internet" names, so the kernel's conntrack counts real bytes on
/// the node egressd watches. Runs only when <see cref="DemoOptions.PlanFile"/> names a plan.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
internal sealed partial class DemoTraffic(IOptions<DemoOptions> options, ILogger<DemoTraffic> logger) : BackgroundService
{
    private static readonly TimeSpan ExchangeTimeout = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.PlanFile is not { Length: > 0 } file)
        {
            return;
        }

        var plan = DemoPlan.Load(file);
        var listeners = new List<Socket>();
        try
        {
            // One listener per server and port: flows to a pod and to its service share it.
            foreach (var (server, port) in plan.Flows.Select(f => (f.Server, f.Port)).Distinct())
            {
                var listener = NetworkNamespace.Run(server, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
                listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                listener.Bind(new IPEndPoint(IPAddress.Any, port));
                listener.Listen(64);
                listeners.Add(listener);
                _ = ServeAsync(listener, stoppingToken);
            }

            LogStarted(logger, plan.Flows.Count, file);
            await Task.WhenAll(plan.Flows.Select(f => SendAsync(plan, f, stoppingToken)));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            listeners.ForEach(l => l.Dispose());
        }
    }

    /// <summary>Each connection asks for its download size (4 bytes), uploads until it shuts down its side, then gets the download.</summary>
    private static async Task ServeAsync(Socket listener, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(async () =>
            {
                using var connection = accepted;
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(ExchangeTimeout);
                try
                {
                    var buffer = new byte[64 * 1024];
                    var header = new byte[4];
                    var got = 0;
                    while (got < 4)
                    {
                        var n = await connection.ReceiveAsync(header.AsMemory(got), timeout.Token);
                        if (n == 0)
                        {
                            return;
                        }

                        got += n;
                    }

                    while (await connection.ReceiveAsync(buffer, timeout.Token) > 0)
                    {
                    }

                    await SendBytesAsync(connection, BinaryPrimitives.ReadInt32BigEndian(header), buffer, timeout.Token);
                    connection.Shutdown(SocketShutdown.Both);
                }
                catch (Exception ex) when (ex is OperationCanceledException or SocketException)
                {
                    // A client that went away; the next one starts afresh.
                }
            }, CancellationToken.None);
        }
    }

    private async Task SendAsync(DemoPlan plan, DemoFlow flow, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval);
        var failing = false;
        do
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(ExchangeTimeout);
                var address = IPAddress.TryParse(flow.Target, out var ip) ? ip : await ResolveAsync(plan, flow, timeout.Token);
                await ExchangeAsync(flow, address, timeout.Token);
                if (failing)
                {
                    LogFlowBack(logger, flow.Name);
                    failing = false;
                }
            }
            catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (!failing)
                {
                    LogFlowFailed(logger, flow.Name, flow.Target, flow.Port, ex.Message);
                    failing = true;
                }
            }
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    private static async Task ExchangeAsync(DemoFlow flow, IPAddress address, CancellationToken cancellationToken)
    {
        using var socket = NetworkNamespace.Run(flow.Client, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        await socket.ConnectAsync(new IPEndPoint(address, flow.Port), cancellationToken);
        var buffer = new byte[64 * 1024];
        BinaryPrimitives.WriteInt32BigEndian(buffer, flow.Download);
        await socket.SendAsync(buffer.AsMemory(0, 4), cancellationToken);
        await SendBytesAsync(socket, flow.Upload, buffer, cancellationToken);
        socket.Shutdown(SocketShutdown.Send);
        var received = 0;
        int n;
        while ((n = await socket.ReceiveAsync(buffer, cancellationToken)) > 0)
        {
            received += n;
        }

        if (received != flow.Download)
        {
            throw new IOException($"received {received} of {flow.Download} bytes");
        }
    }

    private static async Task<IPAddress> ResolveAsync(DemoPlan plan, DemoFlow flow, CancellationToken cancellationToken)
    {
        var server = IPAddress.Parse(plan.DnsServer ?? throw new IOException($"{flow.Target} is a name, and the plan names no DNS server"));
        using var socket = NetworkNamespace.Run(flow.Client, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        await socket.ConnectAsync(new IPEndPoint(server, 53), cancellationToken);
        var id = (ushort)Random.Shared.Next(ushort.MaxValue);
        await socket.SendAsync(DemoDns.Query(flow.Target, id), cancellationToken);
        var answer = new byte[1500];
        var n = await socket.ReceiveAsync(answer, cancellationToken);
        return DemoDns.FirstAddress(answer.AsSpan(0, n), id) ?? throw new IOException($"no address for {flow.Target} from {server}");
    }

    private static async Task SendBytesAsync(Socket socket, int count, byte[] buffer, CancellationToken cancellationToken)
    {
        for (var left = count; left > 0;)
        {
            left -= await socket.SendAsync(buffer.AsMemory(0, Math.Min(left, buffer.Length)), cancellationToken);
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Demo traffic: {Flows} kinds of connection from {Plan}")]
    private static partial void LogStarted(ILogger logger, int flows, string plan);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Demo flow {Flow} to {Target}:{Port} fails: {Reason}")]
    private static partial void LogFlowFailed(ILogger logger, string flow, string target, int port, string reason);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Demo flow {Flow} works again")]
    private static partial void LogFlowBack(ILogger logger, string flow);
}
