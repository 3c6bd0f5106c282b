using System.Collections.Concurrent;
using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Collector.Native;

namespace Egressd.Collector.Netfilter;

/// <summary>
/// Listens to conntrack's destroy events (multicast group NFNLGRP_CONNTRACK_DESTROY) on a thread of
/// its own and queues them with their final counters until the next read applies them. A flow that
/// opens and closes between two reads is counted this way, and only this way.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class ConntrackEventListener : IDisposable
{
    private const uint DestroyGroup = 1u << (3 - 1); // NFNLGRP_CONNTRACK_DESTROY = 3

    /// <summary>
    /// What one destroy event holds of the socket's receive buffer: the kernel charges a message's
    /// whole allocation (its truesize), not its 200-300 bytes. Measured on Linux 6.18 for IPv4 and
    /// IPv6 entries, with and without timestamps.
    /// </summary>
    public const int BytesPerEvent = 1280;

    /// <summary>The least a buffer sized from the table gets: a small table's flush stays far below it.</summary>
    public const int MinimumBufferBytes = 16 << 20;

    /// <summary>The most SO_RCVBUFFORCE takes (INT_MAX / 2; the kernel doubles it).</summary>
    public const int MaximumBufferBytes = 1 << 30;

    private const string ConntrackMaxPath = "/proc/sys/net/netfilter/nf_conntrack_max";

    private readonly ConcurrentQueue<ConntrackEntry> queue = new();
    private readonly NetlinkSocket socket;
    private readonly Thread thread;
    private readonly ILogger logger;
    private volatile bool stopping;
    private int stopped;
    private long overflows;
    private long parseErrors;

    /// <summary>
    /// Starts listening in <paramref name="netns"/> with a receive buffer of <paramref name="configuredBytes"/>,
    /// or with 0 one sized from the namespace's table (<see cref="SizeFor"/>), and says what the kernel granted.
    /// </summary>
    public static ConntrackEventListener Open(string? netns, int configuredBytes, ILogger logger)
    {
        var max = configuredBytes == 0 ? ConntrackMax(netns) : null;
        var asked = configuredBytes == 0 ? SizeFor(max) : configuredBytes;
        var listener = new ConntrackEventListener(netns, asked, logger);
        var granted = listener.GrantedBufferBytes / 2;
        var holds = granted / BytesPerEvent;
        // The kernel takes at most INT_MAX / 2, one byte short of the largest setting.
        if (granted < Math.Min(asked, int.MaxValue / 2))
        {
            LogBufferCapped(logger, granted, asked, holds);
        }
        else
        {
            LogListening(logger, granted, configuredBytes == 0 ? $"sized from net.netfilter.nf_conntrack_max {max?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(unreadable)"}" : "Egressd:Collector:EventBufferBytes", holds);
        }

        return listener;
    }

    public ConntrackEventListener(string? netns, int receiveBufferBytes, ILogger logger)
    {
        this.logger = logger;
        socket = NetlinkSocket.Open(NetlinkSocket.NETLINK_NETFILTER, DestroyGroup, netns, receiveBufferBytes);
        socket.SetReceiveTimeout(TimeSpan.FromMilliseconds(250));
        thread = new Thread(Run) { IsBackground = true, Name = "egressd-conntrack-events" };
        thread.Start();
    }

    /// <summary>Times the socket overflowed and events were lost (the kernel says how many only by ENOBUFS).</summary>
    public long Overflows => Interlocked.Read(ref overflows);

    public long ParseErrors => Interlocked.Read(ref parseErrors);

    /// <summary>The receive buffer the kernel granted, as it reports it (twice what was asked).</summary>
    public int GrantedBufferBytes => socket.ReceiveBufferBytes();

    /// <summary>
    /// The receive buffer that holds a flush of a full table: net.netfilter.nf_conntrack_max of the
    /// namespace (a flush, or a node's mass expiry, sends one event per entry at once, faster than
    /// any reader) times <see cref="BytesPerEvent"/>, within the minimum and the kernel's maximum.
    /// The kernel uses the room only while events wait; <paramref name="conntrackMax"/> is null when
    /// the table's size cannot be read.
    /// </summary>
    public static int SizeFor(long? conntrackMax) =>
        conntrackMax is > 0 and var max
            ? (int)Math.Clamp(max * BytesPerEvent, MinimumBufferBytes, MaximumBufferBytes)
            : MinimumBufferBytes;

    /// <summary>net.netfilter.nf_conntrack_max as the namespace sees it, or null (conntrack not loaded there).</summary>
    public static long? ConntrackMax(string? netns) => NetworkNamespace.Run(netns, () =>
        File.Exists(ConntrackMaxPath) && long.TryParse(File.ReadAllText(ConntrackMaxPath).Trim(), System.Globalization.CultureInfo.InvariantCulture, out var max)
            ? max
            : (long?)null);

    /// <summary>Applies every queued event to <paramref name="sink"/>.</summary>
    public int Drain(IConntrackEntrySink sink)
    {
        var count = 0;
        while (queue.TryDequeue(out var entry))
        {
            sink.OnEntry(entry);
            count++;
        }

        return count;
    }

    /// <summary>
    /// Stops listening: every event the kernel sent until now, including those still in the socket,
    /// is queued for <see cref="Drain"/>; none after. The last step of a clean stop.
    /// </summary>
    public void Stop()
    {
        if (Interlocked.Exchange(ref stopped, 1) != 0)
        {
            return;
        }

        stopping = true;
        // At most one receive timeout: the thread finishes the datagram it holds.
        thread.Join();
        var buffer = GC.AllocateUninitializedArray<byte>(1 << 20, pinned: true);
        var enqueue = new Enqueuer(queue);
        try
        {
            while (ReceiveOnce(buffer, enqueue, wait: false))
            {
            }
        }
        catch (NetlinkException ex)
        {
            LogStoppedWith(logger, ex.Message);
        }

        socket.Dispose();
    }

    private void Run()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(1 << 20, pinned: true);
        var enqueue = new Enqueuer(queue);
        while (!stopping)
        {
            try
            {
                ReceiveOnce(buffer, enqueue, wait: true);
            }
            catch (NetlinkException ex) when (stopping)
            {
                LogStoppedWith(logger, ex.Message);
            }
        }
    }

    /// <summary>Receives and queues one datagram; false when none came (the timeout, or none waiting).</summary>
    private bool ReceiveOnce(byte[] buffer, Enqueuer enqueue, bool wait)
    {
        try
        {
            var received = socket.Receive(buffer, wait);
            if (received == 0)
            {
                return false;
            }

            var interrupted = false;
            var skipped = 0;
            ConntrackParser.ParseBatch(buffer.AsSpan(0, received), enqueue, out _, ref interrupted, ref skipped);
            Interlocked.Add(ref parseErrors, skipped);
        }
        catch (NetlinkException ex) when (ex.Errno == ErrorCodes.ENOBUFS)
        {
            Interlocked.Increment(ref overflows);
            LogOverflow(logger, Overflows);
        }
        catch (NetlinkParseException ex)
        {
            Interlocked.Increment(ref parseErrors);
            LogBadEvent(logger, ex.Message);
        }

        return true;
    }

    public void Dispose()
    {
        stopping = true;
        thread.Join(TimeSpan.FromSeconds(2));
        socket.Dispose();
    }

    private sealed class Enqueuer(ConcurrentQueue<ConntrackEntry> queue) : IConntrackEntrySink
    {
        public void OnEntry(in ConntrackEntry entry)
        {
            if (entry.Destroyed)
            {
                queue.Enqueue(entry);
            }
        }
    }

    [LoggerMessage(EventId = 2201, Level = LogLevel.Warning,
        Message = "Conntrack destroy events overflowed the socket buffer ({Overflows} times so far): connections whose events were dropped lose what they carried since the last read, all of it if they began after it. Raise Egressd:Collector:EventBufferBytes")]
    private static partial void LogOverflow(ILogger logger, long overflows);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Skipped a conntrack event that does not parse: {Reason}")]
    private static partial void LogBadEvent(ILogger logger, string reason);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Debug, Message = "Conntrack event listener stopped: {Reason}")]
    private static partial void LogStoppedWith(ILogger logger, string reason);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Information,
        Message = "Listening to conntrack destroy events with a {Bytes}-byte receive buffer ({How}): room for {Events} events at once")]
    private static partial void LogListening(ILogger logger, int bytes, string how, int events);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Warning,
        Message = "The kernel granted {Granted} bytes of the {Asked} asked for the conntrack destroy-event buffer (net.core.rmem_max caps it without CAP_NET_ADMIN): more than {Events} connections ending at once (a flush, a mass expiry) overflow it and lose their last deltas")]
    private static partial void LogBufferCapped(ILogger logger, int granted, int asked, int events);
}
