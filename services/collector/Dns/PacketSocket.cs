using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Egressd.Collector.Conntrack;

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
    private int fd;

    private PacketSocket(int fd) => this.fd = fd;

    /// <param name="netnsPath">A network namespace file, or null for this process's.</param>
    public static PacketSocket Open(string? netnsPath, int receiveBufferBytes, TimeSpan receiveTimeout)
    {
        try
        {
            return NetlinkSocket.InNamespace(netnsPath, () => OpenHere(receiveBufferBytes, receiveTimeout));
        }
        catch (NetlinkException ex)
        {
            throw new PacketSocketException($"setns({netnsPath})", ex.Errno);
        }
    }

    private static unsafe PacketSocket OpenHere(int receiveBufferBytes, TimeSpan receiveTimeout)
    {
        // Protocol 0 receives nothing until bound: the filter is attached first, so no unfiltered
        // packet is ever queued.
        var fd = PacketNative.Socket(PacketNative.AF_PACKET, PacketNative.SOCK_DGRAM | PacketNative.SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new PacketSocketException("socket(AF_PACKET)", Marshal.GetLastPInvokeError());
        }

        var socket = new PacketSocket(fd);
        try
        {
            var size = receiveBufferBytes;
            if (PacketNative.SetSockOpt(fd, PacketNative.SOL_SOCKET, PacketNative.SO_RCVBUFFORCE, &size, sizeof(int)) != 0)
            {
                // Without CAP_NET_ADMIN the kernel caps the buffer at net.core.rmem_max.
                _ = PacketNative.SetSockOpt(fd, PacketNative.SOL_SOCKET, PacketNative.SO_RCVBUF, &size, sizeof(int));
            }

            var timeval = stackalloc long[2];
            timeval[0] = (long)receiveTimeout.TotalSeconds;
            timeval[1] = receiveTimeout.Milliseconds * 1000L;
            Check(PacketNative.SetSockOpt(fd, PacketNative.SOL_SOCKET, PacketNative.SO_RCVTIMEO, timeval, 16), "setsockopt(SO_RCVTIMEO)");

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
            Check(PacketNative.SetSockOpt(fd, PacketNative.SOL_SOCKET, PacketNative.SO_ATTACH_FILTER, fprog, 16), "setsockopt(SO_ATTACH_FILTER)");

            // struct sockaddr_ll: family, protocol (network order), ifindex 0 = every interface.
            var address = stackalloc byte[20];
            new Span<byte>(address, 20).Clear();
            *(ushort*)address = PacketNative.AF_PACKET;
            *(ushort*)(address + 2) = BinaryPrimitives.ReverseEndianness(PacketNative.ETH_P_ALL);
            Check(PacketNative.Bind(fd, address, 20), "bind(AF_PACKET)");
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
    public unsafe int Receive(Span<byte> buffer)
    {
        fixed (byte* data = buffer)
        {
            while (true)
            {
                var received = PacketNative.Recv(fd, data, buffer.Length, 0);
                if (received >= 0)
                {
                    return (int)received;
                }

                var errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case PacketNative.EINTR:
                        continue;
                    case PacketNative.EAGAIN:
                        return 0;
                    default:
                        throw new PacketSocketException("recv(AF_PACKET)", errno);
                }
            }
        }
    }

    /// <summary>Packets the kernel dropped for a full buffer since the last call (PACKET_STATISTICS resets on read).</summary>
    public unsafe long TakeDrops()
    {
        // struct tpacket_stats { unsigned int tp_packets; unsigned int tp_drops; }
        var stats = stackalloc uint[2];
        var length = 8;
        return PacketNative.GetSockOpt(fd, PacketNative.SOL_PACKET, PacketNative.PACKET_STATISTICS, stats, &length) == 0 ? stats[1] : 0;
    }

    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref fd, -1);
        if (handle >= 0)
        {
            _ = PacketNative.Close(handle);
        }
    }
}
