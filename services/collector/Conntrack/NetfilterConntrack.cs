using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Egressd.Collector.Conntrack;

/// <summary>Dumps the kernel's conntrack table over ctnetlink, IPv4 then IPv6.</summary>
[SupportedOSPlatform("linux")]
internal sealed class NetfilterConntrack : IDisposable
{
    private const int MaxAttempts = 5;
    private static readonly byte[] Families = [2, 10]; // AF_INET, AF_INET6

    private readonly string? netns;
    private readonly byte[] buffer;
    private NetlinkSocket socket;
    private uint sequence;

    public NetfilterConntrack(string? netns, int receiveBufferBytes = 4 << 20)
    {
        this.netns = netns;
        // One datagram of a dump is at most 32 KiB today; a bigger buffer costs nothing and
        // leaves room for kernels that batch more.
        buffer = GC.AllocateUninitializedArray<byte>(1 << 20, pinned: true);
        socket = NetlinkSocket.Open(Native.NETLINK_NETFILTER, 0, netns, receiveBufferBytes);
        ReceiveBufferBytes = receiveBufferBytes;
    }

    public int ReceiveBufferBytes { get; }

    /// <summary>Dump restarts because the table changed under a dump or the socket overflowed.</summary>
    public long Restarts { get; private set; }

    /// <summary>Entries skipped because their message did not parse.</summary>
    public long SkippedEntries { get; private set; }

    /// <summary>
    /// Hands every entry of the table to <paramref name="sink"/>. A dump the kernel marks as
    /// interrupted is read again; the sink must accept an entry twice (the reducer does: the
    /// second sight of unchanged counters adds nothing).
    /// </summary>
    public void Dump<TSink>(TSink sink)
        where TSink : IConntrackEntrySink
    {
        foreach (var family in Families)
        {
            for (var attempt = 1; ; attempt++)
            {
                bool interrupted;
                try
                {
                    interrupted = DumpFamily(family, sink);
                }
                catch (NetlinkException ex) when (ex.Errno == Native.ENOBUFS && attempt < MaxAttempts)
                {
                    // The socket lost messages; its dump state is gone with them. Start afresh.
                    Restarts++;
                    Reopen();
                    continue;
                }
                catch (Exception ex) when (ex is NetlinkParseException or NetlinkException)
                {
                    // The rest of this dump may still sit in the socket: a fresh socket for the next read.
                    Reopen();
                    throw;
                }

                if (!interrupted || attempt >= MaxAttempts)
                {
                    break;
                }

                Restarts++;
            }
        }
    }

    private bool DumpFamily<TSink>(byte family, TSink sink)
        where TSink : IConntrackEntrySink
    {
        Span<byte> request = stackalloc byte[20];
        request.Clear();
        var seq = ++sequence;
        MemoryMarshal.Write(request, 20u);
        MemoryMarshal.Write(request[4..], ConntrackParser.CtGet);
        MemoryMarshal.Write(request[6..], (ushort)(0x1 | 0x300)); // NLM_F_REQUEST | NLM_F_DUMP
        MemoryMarshal.Write(request[8..], seq);
        request[16] = family;
        socket.Send(request);

        var interrupted = false;
        while (true)
        {
            var received = socket.Receive(buffer);
            if (received == 0)
            {
                throw new NetlinkException("recv(conntrack dump)", Native.EAGAIN);
            }

            var skipped = 0;
            var result = ConntrackParser.ParseBatch(buffer.AsSpan(0, received), sink, out var errno, ref interrupted, ref skipped);
            SkippedEntries += skipped;
            switch (result)
            {
                case NetlinkBatchResult.Done:
                    return interrupted;
                case NetlinkBatchResult.Error:
                    throw new NetlinkException("conntrack dump", errno);
                default:
                    break;
            }
        }
    }

    private void Reopen()
    {
        socket.Dispose();
        socket = NetlinkSocket.Open(Native.NETLINK_NETFILTER, 0, netns, ReceiveBufferBytes);
    }

    public void Dispose() => socket.Dispose();
}
