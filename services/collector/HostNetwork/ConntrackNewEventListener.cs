using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Collector.Native;
using Egressd.Collector.Netfilter;
using Egressd.Collector.Pods;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// Hears conntrack's new-entry events (multicast group NFNLGRP_CONNTRACK_NEW) on a thread of its
/// own and, for each entry whose original source is one of the node's addresses, asks socket
/// diagnostics at once for the socket with that exact 4-tuple (<see cref="SocketDiagnostics.Lookup"/>).
/// The kernel sends the event when the entry is confirmed, as the first packet leaves, so the
/// socket is there and still a full socket with its cgroup; a read's dump, seconds later, would find
/// a short connection closed. What is found goes to <see cref="OpenedConnections"/>.
/// <para>
/// Its own socket, beside the destroy-event listener's: a burst of new entries that overflows this
/// one loses attribution only, never the destroy events' final counters.
/// </para>
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class ConntrackNewEventListener : IDisposable, IConntrackEntrySink
{
    private const uint NewGroup = 1u << (1 - 1); // NFNLGRP_CONNTRACK_NEW = 1

    /// <summary>
    /// The receive buffer asked for: every new entry of the namespace comes (the kernel cannot filter
    /// by address), about 1,280 bytes each while it waits, so this holds about 13,000 at once.
    /// </summary>
    public const int ReceiveBufferBytes = 16 << 20;

    private readonly NetlinkSocket socket;
    private readonly SocketDiagnostics diagnostics;
    private readonly ILocalPods pods;
    private readonly OpenedConnections opened;
    private readonly HostNetworkMetrics metrics;
    private readonly ILogger logger;
    private readonly Thread thread;
    private volatile bool stopping;
    private long overflows;

    public ConntrackNewEventListener(string? netns, ILocalPods pods, OpenedConnections opened, HostNetworkMetrics metrics, ILogger logger)
    {
        this.pods = pods;
        this.opened = opened;
        this.metrics = metrics;
        this.logger = logger;
        socket = NetlinkSocket.Open(NetlinkSocket.NETLINK_NETFILTER, NewGroup, netns, ReceiveBufferBytes);
        try
        {
            socket.SetReceiveTimeout(TimeSpan.FromMilliseconds(250));
            diagnostics = SocketDiagnostics.Open(netns);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        thread = new Thread(Run) { IsBackground = true, Name = "egressd-conntrack-new" };
        thread.Start();
    }

    /// <summary>Times new-entry events overflowed the socket and were lost.</summary>
    public long Overflows => Interlocked.Read(ref overflows);

    private void Run()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(1 << 20, pinned: true);
        while (!stopping)
        {
            try
            {
                var received = socket.Receive(buffer);
                if (received == 0)
                {
                    continue;
                }

                var interrupted = false;
                var skipped = 0;
                ConntrackParser.ParseBatch(buffer.AsSpan(0, received), this, out _, ref interrupted, ref skipped);
            }
            catch (NetlinkException ex) when (ex.Errno == ErrorCodes.ENOBUFS)
            {
                metrics.NewEventOverflows.Inc();
                LogOverflow(logger, Interlocked.Increment(ref overflows));
            }
            catch (NetlinkParseException ex)
            {
                LogBadEvent(logger, ex.Message);
            }
            catch (NetlinkException ex) when (!stopping)
            {
                // A lookup refused or the socket broken: say so and keep listening; the dump still attributes what lives through a read.
                LogFailed(logger, ex.Message);
                Thread.Sleep(1000);
            }
            catch (NetlinkException)
            {
                // Closed while stopping.
            }
        }
    }

    /// <summary>One new entry (the event thread).</summary>
    public void OnEntry(in ConntrackEntry entry)
    {
        ref readonly var t = ref entry.Original;
        if (entry.Destroyed || t.Protocol is not (6 or 17) || !pods.IsNodeAddress(t.Source))
        {
            return;
        }

        // The original tuple is what the node's socket holds: for a ClusterIP too, as DNAT comes after.
        var socketNow = diagnostics.Lookup(t.Protocol, t.Source, t.SourcePort, t.Destination, t.DestinationPort);
        if (socketNow is { CgroupId: not 0 and var cgroup })
        {
            metrics.NewConnections.WithLabels("cgroup").Inc();
            opened.Add(t.Protocol, t.Source, t.SourcePort, t.Destination, t.DestinationPort, entry.Id, cgroup);
        }
        else
        {
            // Closed already (TIME_WAIT has no cgroup; a UDP socket leaves nothing): shorter than the event's latency.
            metrics.NewConnections.WithLabels("gone").Inc();
        }
    }

    public void Dispose()
    {
        stopping = true;
        thread.Join(TimeSpan.FromSeconds(2));
        socket.Dispose();
        diagnostics.Dispose();
    }

    [LoggerMessage(EventId = 2605, Level = LogLevel.Information,
        Message = "Listening to conntrack new-entry events: each new connection from a node address is looked up at once, so connections shorter than a read are attributed too")]
    public static partial void LogListening(ILogger logger);

    [LoggerMessage(EventId = 2606, Level = LogLevel.Warning,
        Message = "Conntrack new-entry events overflowed their socket buffer ({Overflows} times so far): node-address connections among them that close before the next read go to the node as unresolved")]
    private static partial void LogOverflow(ILogger logger, long overflows);

    [LoggerMessage(EventId = 2607, Level = LogLevel.Warning, Message = "Skipped a conntrack new-entry event that does not parse: {Reason}")]
    private static partial void LogBadEvent(ILogger logger, string reason);

    [LoggerMessage(EventId = 2608, Level = LogLevel.Warning,
        Message = "Looking up a new node-address connection's socket failed: {Reason}; connections shorter than a read may go to the node until it works again")]
    private static partial void LogFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 2609, Level = LogLevel.Warning,
        Message = "Could not listen to conntrack new-entry events ({Reason}): node-address connections that open and close between two reads go to the node as unresolved")]
    public static partial void LogCannotListen(ILogger logger, string reason);
}
