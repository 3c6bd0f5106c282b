using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Egressd.Collector.Native;

namespace Egressd.Collector.Dns;

/// <summary>
/// An AF_PACKET socket over every interface of a network namespace, delivering packets from their
/// network header on (SOCK_DGRAM), filtered in the kernel by <see cref="DnsSocketFilter"/>. Needs
/// CAP_NET_RAW only, and no eBPF program, BTF or libpcap. Opened like the conntrack sockets: a
/// throwaway thread enters the namespace, opens it, and leaves; the socket stays bound there.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class PacketSocket : IDisposable
{
    // linux/if_ether.h, linux/socket.h, linux/if_packet.h
    private const int AF_PACKET = 17;
    private const ushort ETH_P_ALL = 0x0003;
    private const int SOL_PACKET = 263;
    private const int PACKET_STATISTICS = 6;

    private int fd;

    private PacketSocket(int fd) => this.fd = fd;

    /// <param name="netnsPath">A network namespace file, or null for this process's.</param>
    public static PacketSocket Open(string? netnsPath, int receiveBufferBytes, TimeSpan receiveTimeout)
    {
        try
        {
            return NetworkNamespace.Run(netnsPath, () => OpenHere(receiveBufferBytes, receiveTimeout));
        }
        catch (NetworkNamespaceException ex)
        {
            throw new PacketSocketException($"setns({netnsPath})", ex.Errno);
        }
    }

    private static unsafe PacketSocket OpenHere(int receiveBufferBytes, TimeSpan receiveTimeout)
    {
        // Protocol 0 receives nothing until bound: the filter is attached first, so no unfiltered
        // packet is ever queued.
        var fd = Libc.Socket(AF_PACKET, Libc.SOCK_DGRAM | Libc.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new PacketSocketException("socket(AF_PACKET)", Marshal.GetLastPInvokeError());
        }

        var socket = new PacketSocket(fd);
        try
        {
            Libc.SetReceiveBuffer(fd, receiveBufferBytes);
            Check(Libc.SetReceiveTimeout(fd, receiveTimeout), "setsockopt(SO_RCVTIMEO)");

            var program = DnsSocketFilter.Program;
            var instructions = stackalloc byte[program.Length * 8];
            for (var i = 0; i < program.Length; i++)
            {
                var (code, jt, jf, k) = program[i];
                *(ushort*)(instructions + (i * 8)) = code;
                instructions[(i * 8) + 2] = jt;
                instructions[(i * 8) + 3] = jf;
                *(uint*)(instructions + (i * 8) + 4) = k;
            }

            // struct sock_fprog { unsigned short len; struct sock_filter *filter; }
            var fprog = stackalloc byte[16];
            new Span<byte>(fprog, 16).Clear();
            *(ushort*)fprog = (ushort)program.Length;
            *(byte**)(fprog + 8) = instructions;
            Check(Libc.SetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_ATTACH_FILTER, fprog, 16), "setsockopt(SO_ATTACH_FILTER)");

            // struct sockaddr_ll: family, protocol (network order), ifindex 0 = every interface.
            var address = stackalloc byte[20];
            new Span<byte>(address, 20).Clear();
            *(ushort*)address = AF_PACKET;
            *(ushort*)(address + 2) = BinaryPrimitives.ReverseEndianness(ETH_P_ALL);
            Check(Libc.Bind(fd, address, 20), "bind(AF_PACKET)");
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static void Check(int result, string operation)
    {
        if (result != 0)
        {
            throw new PacketSocketException(operation, Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>Receives one packet; 0 when the receive timed out. A packet longer than the buffer is cut to it.</summary>
    public int Receive(Span<byte> buffer)
    {
        var received = Libc.Receive(fd, buffer, out var errno);
        return received >= 0 ? received : throw new PacketSocketException("recv(AF_PACKET)", errno);
    }

    /// <summary>Packets the kernel dropped for a full buffer since the last call (PACKET_STATISTICS resets on read).</summary>
    public unsafe long TakeDrops()
    {
        // struct tpacket_stats { unsigned int tp_packets; unsigned int tp_drops; }
        var stats = stackalloc uint[2];
        var length = 8;
        return Libc.GetSockOpt(fd, SOL_PACKET, PACKET_STATISTICS, stats, &length) == 0 ? stats[1] : 0;
    }

    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref fd, -1);
        if (handle >= 0)
        {
            _ = Libc.Close(handle);
        }
    }
}
