using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Egressd.Collector.Conntrack;

/// <summary>An error from a netlink system call, with its errno.</summary>
public sealed class NetlinkException(string operation, int errno)
    : Exception($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public int Errno { get; } = errno;

    // EPERM, EACCES
    public bool IsPermissionDenied => Errno is 1 or 13;
}

/// <summary>
/// A raw netlink socket. .NET's Socket class cannot open AF_NETLINK, so this is P/Invoke. The
/// socket can be opened inside another network namespace: a short-lived thread enters it with
/// setns(2), opens the socket and exits; the socket stays bound to that namespace.
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class NetlinkSocket : IDisposable
{
    private int fd;

    private NetlinkSocket(int fd) => this.fd = fd;

    /// <param name="protocol">NETLINK_NETFILTER is 12.</param>
    /// <param name="groups">Multicast groups bitmask to join (0 for none).</param>
    /// <param name="netnsPath">A network namespace file (/proc/1/ns/net, /run/netns/NAME), or null for this process's.</param>
    /// <param name="receiveBufferBytes">Kernel receive buffer; forced past rmem_max when CAP_NET_ADMIN allows.</param>
    public static NetlinkSocket Open(int protocol, uint groups, string? netnsPath, int receiveBufferBytes)
    {
        if (netnsPath is null)
        {
            return OpenHere(protocol, groups, receiveBufferBytes);
        }

        using var ns = File.OpenHandle(netnsPath, FileMode.Open, FileAccess.Read);
        NetlinkSocket? opened = null;
        Exception? failure = null;
        // setns changes only the calling thread; a thread of our own, thrown away afterwards,
        // keeps the namespace away from the thread pool.
        var thread = new Thread(() =>
        {
            try
            {
                if (Native.SetNs((int)ns.DangerousGetHandle(), Native.CLONE_NEWNET) != 0)
                {
                    throw new NetlinkException($"setns({netnsPath})", Marshal.GetLastPInvokeError());
                }

                opened = OpenHere(protocol, groups, receiveBufferBytes);
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        { IsBackground = true, Name = "egressd-netns" };
        thread.Start();
        thread.Join();
        return failure is null ? opened! : throw failure;
    }

    /// <summary>Runs <paramref name="action"/> on a throwaway thread inside the namespace (null: this process's).</summary>
    public static T InNamespace<T>(string? netnsPath, Func<T> action)
    {
        if (netnsPath is null)
        {
            return action();
        }

        using var ns = File.OpenHandle(netnsPath, FileMode.Open, FileAccess.Read);
        T result = default!;
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                if (Native.SetNs((int)ns.DangerousGetHandle(), Native.CLONE_NEWNET) != 0)
                {
                    throw new NetlinkException($"setns({netnsPath})", Marshal.GetLastPInvokeError());
                }

                result = action();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        })
        { IsBackground = true, Name = "egressd-netns" };
        thread.Start();
        thread.Join();
        return failure is null ? result : throw failure;
    }

    private static unsafe NetlinkSocket OpenHere(int protocol, uint groups, int receiveBufferBytes)
    {
        var fd = Native.Socket(Native.AF_NETLINK, Native.SOCK_RAW | Native.SOCK_CLOEXEC, protocol);
        if (fd < 0)
        {
            throw new NetlinkException("socket(AF_NETLINK)", Marshal.GetLastPInvokeError());
        }

        var socket = new NetlinkSocket(fd);
        try
        {
            var size = receiveBufferBytes;
            if (Native.SetSockOpt(fd, Native.SOL_SOCKET, Native.SO_RCVBUFFORCE, &size, sizeof(int)) != 0)
            {
                // Without CAP_NET_ADMIN the kernel caps the buffer at net.core.rmem_max.
                _ = Native.SetSockOpt(fd, Native.SOL_SOCKET, Native.SO_RCVBUF, &size, sizeof(int));
            }

            var address = stackalloc byte[12];
            new Span<byte>(address, 12).Clear();
            *(ushort*)address = Native.AF_NETLINK;
            *(uint*)(address + 8) = groups;
            if (Native.Bind(fd, address, 12) != 0)
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
    public unsafe void SetReceiveTimeout(TimeSpan timeout)
    {
        var timeval = stackalloc long[2];
        timeval[0] = (long)timeout.TotalSeconds;
        timeval[1] = timeout.Milliseconds * 1000L;
        if (Native.SetSockOpt(fd, Native.SOL_SOCKET, Native.SO_RCVTIMEO, timeval, 16) != 0)
        {
            throw new NetlinkException("setsockopt(SO_RCVTIMEO)", Marshal.GetLastPInvokeError());
        }
    }

    public unsafe void Send(ReadOnlySpan<byte> message)
    {
        fixed (byte* data = message)
        {
            var sent = Native.Send(fd, data, message.Length, 0);
            if (sent < 0)
            {
                throw new NetlinkException("send(netlink)", Marshal.GetLastPInvokeError());
            }
        }
    }

    /// <summary>Receives one datagram (many netlink messages); 0 when the receive timed out.</summary>
    public unsafe int Receive(Span<byte> buffer)
    {
        fixed (byte* data = buffer)
        {
            while (true)
            {
                var received = Native.Recv(fd, data, buffer.Length, 0);
                if (received >= 0)
                {
                    return (int)received;
                }

                var errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case Native.EINTR:
                        continue;
                    case Native.EAGAIN:
                        return 0;
                    default:
                        throw new NetlinkException("recv(netlink)", errno);
                }
            }
        }
    }

    public void Dispose()
    {
        var handle = Interlocked.Exchange(ref fd, -1);
        if (handle >= 0)
        {
            _ = Native.Close(handle);
        }
    }
}

[SupportedOSPlatform("linux")]
internal static partial class Native
{
    public const int AF_NETLINK = 16;
    public const int SOCK_RAW = 3;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int NETLINK_NETFILTER = 12;
    public const int SOL_SOCKET = 1;
    public const int SO_RCVBUF = 8;
    public const int SO_RCVTIMEO = 20;
    public const int SO_RCVBUFFORCE = 33;
    public const int CLONE_NEWNET = 0x40000000;
    public const int EPERM = 1;
    public const int EINTR = 4;
    public const int EAGAIN = 11;
    public const int EACCES = 13;
    public const int ENOBUFS = 105;

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static unsafe partial int Bind(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static unsafe partial int SetSockOpt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static unsafe partial nint Send(int fd, byte* data, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static unsafe partial nint Recv(int fd, byte* data, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);
}
