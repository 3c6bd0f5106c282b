using System.Buffers.Binary;
using System.Runtime.Versioning;
using Egressd.Collector.Netfilter;
using Egressd.Contracts;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// Lists every TCP and UDP socket (IPv4 and IPv6) of one network namespace through the kernel's
/// socket diagnostics (NETLINK_SOCK_DIAG, <c>inet_diag_req_v2</c>). Since Linux 5.8 each full
/// socket carries <c>INET_DIAG_CGROUP_ID</c>, the inode number of its creator's cgroup v2
/// directory; no capability is needed, but a dump covers only the namespace the netlink socket
/// was opened in, so it is opened where conntrack is read.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class SocketDiagnostics : IDisposable
{
    // linux/netlink.h, linux/sock_diag.h, linux/inet_diag.h
    private const int NETLINK_SOCK_DIAG = 4;
    private const ushort SOCK_DIAG_BY_FAMILY = 20;
    private const ushort NLM_F_REQUEST = 0x1;
    private const ushort NLM_F_DUMP = 0x300;
    private const ushort NLMSG_ERROR = 2;
    private const ushort NLMSG_DONE = 3;
    private const ushort INET_DIAG_CGROUP_ID = 21;
    private const byte AF_INET = 2;
    private const byte AF_INET6 = 10;
    private const int ENOENT = 2;
    private const int HeaderBytes = 16;
    private const int RequestBytes = 56;
    private const int MessageBytes = 72;

    private readonly NetlinkSocket socket;
    private readonly byte[] buffer = new byte[256 * 1024];
    private uint sequence;

    private SocketDiagnostics(NetlinkSocket socket) => this.socket = socket;

    /// <param name="netnsPath">The namespace whose sockets are listed (the one conntrack is read in), or null for this process's.</param>
    public static SocketDiagnostics Open(string? netnsPath) =>
        new(NetlinkSocket.Open(NETLINK_SOCK_DIAG, 0, netnsPath, 1024 * 1024));

    /// <summary>Every TCP and UDP socket, both families, each handed to <paramref name="onSocket"/>.</summary>
    public void Dump(Action<SocketRecord> onSocket)
    {
        foreach (var protocol in (ReadOnlySpan<byte>)[6, 17])
        {
            Dump(AF_INET, protocol, uint.MaxValue, onSocket);
            Dump(AF_INET6, protocol, uint.MaxValue, onSocket);
        }
    }

    /// <summary>The sockets of one family and protocol in the given states (a bit per TCP state).</summary>
    public void Dump(byte family, byte protocol, uint states, Action<SocketRecord> onSocket)
    {
        Span<byte> request = stackalloc byte[HeaderBytes + RequestBytes];
        request.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(request[4..], SOCK_DIAG_BY_FAMILY);
        BinaryPrimitives.WriteUInt16LittleEndian(request[6..], NLM_F_REQUEST | NLM_F_DUMP);
        BinaryPrimitives.WriteUInt32LittleEndian(request[8..], ++sequence);
        request[16] = family;
        request[17] = protocol;
        BinaryPrimitives.WriteUInt32LittleEndian(request[20..], states);
        socket.Send(request);

        while (true)
        {
            var received = socket.Receive(buffer);
            if (received == 0)
            {
                throw new NetlinkException("recv(sock_diag) returned nothing before the dump's end", 0);
            }

            var data = buffer.AsSpan(0, received);
            while (data.Length >= HeaderBytes)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                var type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
                if (length < HeaderBytes || length > data.Length)
                {
                    throw new NetlinkParseException($"sock_diag message of {length} bytes in a datagram of {data.Length}");
                }

                switch (type)
                {
                    case NLMSG_DONE:
                        return;
                    case NLMSG_ERROR:
                        var errno = -BinaryPrimitives.ReadInt32LittleEndian(data[HeaderBytes..]);
                        if (errno != 0)
                        {
                            throw new NetlinkException("sock_diag dump", errno);
                        }

                        return;
                    case SOCK_DIAG_BY_FAMILY when length >= HeaderBytes + MessageBytes:
                        onSocket(Parse(data[HeaderBytes..length], protocol));
                        break;
                }

                data = data[Math.Min(data.Length, (length + 3) & ~3)..];
            }
        }
    }

    /// <summary>
    /// The one socket with these ends (TCP or UDP, the family of <paramref name="local"/>), asked
    /// for exactly (SOCK_DIAG_BY_FAMILY without NLM_F_DUMP): the kernel looks it up in its hash
    /// tables, about 10 µs, where a dump walks every socket. Null when there is none (ENOENT: closed
    /// already). A TCP connection in TIME_WAIT is found but carries no cgroup (0).
    /// </summary>
    public SocketRecord? Lookup(byte protocol, IpAddr local, ushort localPort, IpAddr remote, ushort remotePort)
    {
        Span<byte> request = stackalloc byte[HeaderBytes + RequestBytes];
        EncodeLookup(request, ++sequence, protocol, local, localPort, remote, remotePort);
        socket.Send(request);
        SocketRecord? found = null;
        while (true)
        {
            var received = socket.Receive(buffer);
            if (received == 0)
            {
                throw new NetlinkException("recv(sock_diag) returned nothing for an exact lookup", 0);
            }

            var data = buffer.AsSpan(0, received);
            while (data.Length >= HeaderBytes)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                var type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
                if (length < HeaderBytes || length > data.Length)
                {
                    throw new NetlinkParseException($"sock_diag message of {length} bytes in a datagram of {data.Length}");
                }

                var answers = BinaryPrimitives.ReadUInt32LittleEndian(data[8..]) == sequence;
                switch (type)
                {
                    case NLMSG_ERROR when answers:
                        // One answer: an error (0 is an acknowledgement, which an exact request does not ask for).
                        var errno = -BinaryPrimitives.ReadInt32LittleEndian(data[HeaderBytes..]);
                        return errno is 0 or ENOENT ? found : throw new NetlinkException("sock_diag lookup", errno);
                    case SOCK_DIAG_BY_FAMILY when answers && length >= HeaderBytes + MessageBytes:
                        // The kernel answers an exact request with one message and no NLMSG_DONE.
                        return Parse(data[HeaderBytes..length], protocol);
                }

                data = data[Math.Min(data.Length, (length + 3) & ~3)..];
            }
        }
    }

    /// <summary>
    /// An exact request (<c>nlmsghdr</c> and <c>inet_diag_req_v2</c>, <see cref="LookupBytes"/> bytes)
    /// for the socket with these ends. The kernel's two lookups read the request's ends differently:
    /// TCP (inet_diag_find_one_icsk) takes <c>idiag_src</c> as the socket's own end, UDP
    /// (udp_dump_one calls __udp4_lib_lookup / __udp6_lib_lookup, whose first address is a packet's
    /// source) takes it as the peer's; so a UDP request carries the peer as its source. The cookie is
    /// INET_DIAG_NOCOOKIE (any socket with these ends), the interface 0 (any).
    /// </summary>
    public static void EncodeLookup(Span<byte> request, uint sequence, byte protocol, IpAddr local, ushort localPort, IpAddr remote, ushort remotePort)
    {
        request = request[..LookupBytes];
        request.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(request, LookupBytes);
        BinaryPrimitives.WriteUInt16LittleEndian(request[4..], SOCK_DIAG_BY_FAMILY);
        BinaryPrimitives.WriteUInt16LittleEndian(request[6..], NLM_F_REQUEST);
        BinaryPrimitives.WriteUInt32LittleEndian(request[8..], sequence);
        request[16] = local.IsV4 ? AF_INET : AF_INET6;
        request[17] = protocol;
        // idiag_ext 0, pad, idiag_states: every state.
        BinaryPrimitives.WriteUInt32LittleEndian(request[20..], uint.MaxValue);
        var (source, sourcePort, destination, destinationPort) = protocol == 17
            ? (remote, remotePort, local, localPort)
            : (local, localPort, remote, remotePort);
        // struct inet_diag_sockid at 24: sport, dport (big-endian), src[16], dst[16], if, cookie[2].
        BinaryPrimitives.WriteUInt16BigEndian(request[24..], sourcePort);
        BinaryPrimitives.WriteUInt16BigEndian(request[26..], destinationPort);
        source.WriteBytes(request[28..]);
        destination.WriteBytes(request[44..]);
        BinaryPrimitives.WriteUInt32LittleEndian(request[64..], uint.MaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(request[68..], uint.MaxValue);
    }

    /// <summary>The length of an exact request: a netlink header and an inet_diag_req_v2.</summary>
    public const int LookupBytes = HeaderBytes + RequestBytes;

    /// <summary>One inet_diag_msg and its attributes.</summary>
    private static SocketRecord Parse(ReadOnlySpan<byte> message, byte protocol)
    {
        var family = message[0];
        var state = message[1];
        // struct inet_diag_sockid at 4: sport, dport (big-endian), src[16], dst[16], if, cookie[2].
        var localPort = BinaryPrimitives.ReadUInt16BigEndian(message[4..]);
        var remotePort = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        var local = Address(family, message.Slice(8, 16));
        var remote = Address(family, message.Slice(24, 16));
        var cookie = BinaryPrimitives.ReadUInt32LittleEndian(message[44..]) | ((ulong)BinaryPrimitives.ReadUInt32LittleEndian(message[48..]) << 32);
        // After the sockid: expires, rqueue, wqueue, uid, then the inode.
        var inode = BinaryPrimitives.ReadUInt32LittleEndian(message[68..]);
        ulong cgroup = 0;
        var attributes = message[MessageBytes..];
        while (attributes.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(attributes);
            var type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(attributes[2..]) & 0x3FFF);
            if (length < 4 || length > attributes.Length)
            {
                break;
            }

            if (type == INET_DIAG_CGROUP_ID && length >= 12)
            {
                cgroup = BinaryPrimitives.ReadUInt64LittleEndian(attributes[4..]);
            }

            attributes = attributes[Math.Min(attributes.Length, (length + 3) & ~3)..];
        }

        return new SocketRecord(protocol, state, local, localPort, remote, remotePort, cookie, cgroup, inode);
    }

    /// <summary>An end's address; an IPv6 socket's IPv4-mapped address is already the IPv4 address conntrack shows (<see cref="IpAddr"/> holds IPv4 mapped).</summary>
    private static IpAddr Address(byte family, ReadOnlySpan<byte> bytes) =>
        family == AF_INET ? IpAddr.FromV4(bytes[..4]) : IpAddr.FromV6(bytes);

    public void Dispose() => socket.Dispose();
}
