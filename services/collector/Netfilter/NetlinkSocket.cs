using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Egressd.Collector.Native;

namespace Egressd.Collector.Netfilter;

/// <summary>
/// A raw netlink socket. .NET's Socket class cannot open AF_NETLINK, so this is P/Invoke. The
/// socket can be opened inside another network namespace (<see cref="NetworkNamespace"/>); it
/// stays bound to that namespace.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class NetlinkSocket : IDisposable
{
    // linux/netlink.h
    public const int NETLINK_NETFILTER = 12;
    private const int AF_NETLINK = 16;

    private int fd;

    private NetlinkSocket(int fd) => this.fd = fd;

    /// <param name="protocol">NETLINK_NETFILTER is 12.</param>
    /// <param name="groups">Multicast groups bitmask to join (0 for none).</param>
    /// <param name="netnsPath">A network namespace file (/proc/1/ns/net, /run/netns/NAME), or null for this process's.</param>
    /// <param name="receiveBufferBytes">Kernel receive buffer; forced past rmem_max when CAP_NET_ADMIN allows.</param>
    public static NetlinkSocket Open(int protocol, uint groups, string? netnsPath, int receiveBufferBytes)
    {
        try
        {
            return NetworkNamespace.Run(netnsPath, () => OpenHere(protocol, groups, receiveBufferBytes));
        }
        catch (NetworkNamespaceException ex)
        {
            throw new NetlinkException($"setns({netnsPath})", ex.Errno);
        }
    }

    private static unsafe NetlinkSocket OpenHere(int protocol, uint groups, int receiveBufferBytes)
    {
        var fd = Libc.Socket(AF_NETLINK, Libc.SOCK_RAW | Libc.SOCK_CLOEXEC, protocol);
        if (fd < 0)
        {
            throw new NetlinkException("socket(AF_NETLINK)", Marshal.GetLastPInvokeError());
        }

        var socket = new NetlinkSocket(fd);
        try
        {
            Libc.SetReceiveBuffer(fd, receiveBufferBytes);

            var address = stackalloc byte[12];
            new Span<byte>(address, 12).Clear();
            *(ushort*)address = AF_NETLINK;
            *(uint*)(address + 8) = groups;
            if (Libc.Bind(fd, address, 12) != 0)
            {
                throw new NetlinkException("bind(AF_NETLINK)", Marshal.GetLastPInvokeError());
            }

            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>How long a receive waits before it returns 0 (no data).</summary>
    public void SetReceiveTimeout(TimeSpan timeout)
    {
        if (Libc.SetReceiveTimeout(fd, timeout) != 0)
        {
            throw new NetlinkException("setsockopt(SO_RCVTIMEO)", Marshal.GetLastPInvokeError());
        }
    }

    public unsafe void Send(ReadOnlySpan<byte> message)
    {
        fixed (byte* data = message)
        {
            var sent = Libc.Send(fd, data, message.Length, 0);
            if (sent < 0)
            {
                throw new NetlinkException("send(netlink)", Marshal.GetLastPInvokeError());
            }
        }
    }

    /// <summary>Receives one datagram (many netlink messages); 0 when the receive timed out, or without <paramref name="wait"/> when none waits.</summary>
    public int Receive(Span<byte> buffer, bool wait = true)
    {
        var received = Libc.Receive(fd, buffer, out var errno, wait ? 0 : Libc.MSG_DONTWAIT);
        return received >= 0 ? received : throw new NetlinkException("recv(netlink)", errno);
    }

    /// <summary>The receive buffer the kernel granted (it doubles what it is asked for, for its own bookkeeping).</summary>
    public unsafe int ReceiveBufferBytes()
    {
        var size = 0;
        var length = sizeof(int);
        return Libc.GetSockOpt(fd, Libc.SOL_SOCKET, Libc.SO_RCVBUF, &size, &length) == 0 ? size : 0;
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
