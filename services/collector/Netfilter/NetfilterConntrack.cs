using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Collector.Native;

namespace Egressd.Collector.Netfilter;

/// <summary>Dumps the kernel's conntrack table over ctnetlink, IPv4 and IPv6 together.</summary>
[SupportedOSPlatform("linux")]
internal sealed class NetfilterConntrack : IDisposable
{
    private const int MaxAttempts = 5;
    // AF_UNSPEC dumps IPv4 and IPv6 in one walk of the table; a dump per family walks it twice,
    // the kernel skipping the other family's entries each time.
    private static readonly byte[] Families = [0];

    private readonly string? netns;
    private readonly byte[][] buffers;
    private NetlinkSocket socket;
    private uint sequence;

    public NetfilterConntrack(string? netns, int receiveBufferBytes = 4 << 20)
    {
        this.netns = netns;
        // A dump datagram is at most 32 KiB today (the kernel caps it); 64 KiB leaves room.
        buffers = [.. Enumerable.Range(0, 8).Select(_ => GC.AllocateUninitializedArray<byte>(64 * 1024, pinned: true))];
        ReceiveBufferBytes = receiveBufferBytes;
        socket = Open();
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
                catch (NetlinkException ex) when (ex.Errno == ErrorCodes.ENOBUFS && attempt < MaxAttempts)
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

        // The kernel builds each datagram inside our recv call. Receiving on a second thread while
        // this one parses lets the two overlap: the cycle costs little more than the kernel's dump.
        using var free = new BlockingCollection<int>(buffers.Length);
        using var filled = new BlockingCollection<(int Buffer, int Length)>(buffers.Length);
        for (var i = 0; i < buffers.Length; i++)
        {
            free.Add(i);
        }

        Exception? receiveError = null;
        var receiver = new Thread(() =>
        {
            try
            {
                while (true)
                {
                    var index = free.Take();
                    var received = socket.Receive(buffers[index]);
                    if (received == 0)
                    {
                        throw new NetlinkException("recv(conntrack dump) timed out", ErrorCodes.EAGAIN);
                    }

                    filled.Add((index, received));
                    if (ConntrackParser.EndsDump(buffers[index].AsSpan(0, received)))
                    {
                        return;
                    }
                }
            }
            catch (Exception ex)
            {
                receiveError = ex;
            }
            finally
            {
                filled.CompleteAdding();
            }
        })
        { IsBackground = true, Name = "egressd-conntrack-dump" };
        receiver.Start();

        var interrupted = false;
        Exception? parseError = null;
        var errno = 0;
        foreach (var (index, length) in filled.GetConsumingEnumerable())
        {
            // After a failure keep draining, so the socket ends the dump clean.
            if (parseError is null && errno == 0)
            {
                try
                {
                    var skipped = 0;
                    var result = ConntrackParser.ParseBatch(buffers[index].AsSpan(0, length), sink, out var code, ref interrupted, ref skipped);
                    SkippedEntries += skipped;
                    if (result == NetlinkBatchResult.Error)
                    {
                        errno = code;
                    }
                }
                catch (Exception ex)
                {
                    // Whatever failed, the receiver must still be given its buffers back to finish.
                    parseError = ex;
                }
            }

            free.Add(index);
        }

        receiver.Join();
        if (receiveError is not null)
        {
            throw receiveError;
        }

        if (parseError is not null)
        {
            throw parseError;
        }

        return errno != 0 ? throw new NetlinkException("conntrack dump", errno) : interrupted;
    }

    private NetlinkSocket Open()
    {
        var opened = NetlinkSocket.Open(NetlinkSocket.NETLINK_NETFILTER, 0, netns, ReceiveBufferBytes);
        // A dump that stalls (it should not) ends the read instead of hanging the collector.
        opened.SetReceiveTimeout(TimeSpan.FromSeconds(10));
        return opened;
    }

    private void Reopen()
    {
        socket.Dispose();
        socket = Open();
    }

    public void Dispose() => socket.Dispose();
}
