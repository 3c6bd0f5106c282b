using System.Collections.Concurrent;
using System.Runtime.Versioning;
using Egressd.Collector.Native;

namespace Egressd.Collector.Conntrack;

/// <summary>
/// Listens to conntrack's destroy events (multicast group NFNLGRP_CONNTRACK_DESTROY) on a thread of
/// its own and queues them with their final counters until the next read applies them. A flow that
/// opens and closes between two reads is counted this way, and only this way.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed partial class ConntrackEventListener : IDisposable
{
    private const uint DestroyGroup = 1u << (3 - 1); // NFNLGRP_CONNTRACK_DESTROY = 3

    private readonly ConcurrentQueue<ConntrackEntry> queue = new();
    private readonly NetlinkSocket socket;
    private readonly Thread thread;
    private readonly ILogger logger;
    private volatile bool stopping;
    private long overflows;
    private long parseErrors;

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

    private void Run()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(1 << 20, pinned: true);
        var enqueue = new Enqueuer(queue);
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
            catch (NetlinkException ex) when (stopping)
            {
                LogStoppedWith(logger, ex.Message);
            }
        }
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
        Message = "Conntrack destroy events overflowed the socket buffer ({Overflows} times so far); short flows that ended meanwhile are lost. Raise Egressd:Collector:EventBufferBytes")]
    private static partial void LogOverflow(ILogger logger, long overflows);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Warning, Message = "Skipped a conntrack event that does not parse: {Reason}")]
    private static partial void LogBadEvent(ILogger logger, string reason);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Debug, Message = "Conntrack event listener stopped: {Reason}")]
    private static partial void LogStoppedWith(ILogger logger, string reason);
}
