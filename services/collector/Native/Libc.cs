using System.Runtime.InteropServices;
using System.Runtime.Versioning;

namespace Egressd.Collector.Native;

/// <summary>
/// The collector's libc calls and the socket constants they share, in one place: the netlink sockets
/// (conntrack), the packet socket (DNS), bpf(2) (Cilium) and the checkpoint's directory fsync all call
/// through here. Constants of one protocol stay with the socket that speaks it.
/// </summary>
[SupportedOSPlatform("linux")]
internal static unsafe partial class Libc
{
    public const int SOCK_DGRAM = 2;
    public const int SOCK_RAW = 3;
    public const int SOCK_CLOEXEC = 0x80000;
    public const int SOL_SOCKET = 1;
    public const int SO_RCVBUF = 8;
    public const int SO_RCVTIMEO = 20;
    public const int SO_ATTACH_FILTER = 26;
    public const int SO_RCVBUFFORCE = 33;
    public const int CLONE_NEWNET = 0x40000000;

    /// <summary>Asks for a receive buffer of <paramref name="bytes"/>, past net.core.rmem_max when CAP_NET_ADMIN allows.</summary>
    public static void SetReceiveBuffer(int fd, int bytes)
    {
        var size = bytes;
        if (SetSockOpt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(int)) != 0)
        {
            // Without CAP_NET_ADMIN the kernel caps the buffer at net.core.rmem_max.
            _ = SetSockOpt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(int));
        }
    }

    /// <summary>Makes a receive return after <paramref name="timeout"/> without data; 0 on success, else -1 with errno set.</summary>
    public static int SetReceiveTimeout(int fd, TimeSpan timeout)
    {
        // struct timeval { time_t tv_sec; suseconds_t tv_usec; } on 64-bit Linux.
        var timeval = stackalloc long[2];
        timeval[0] = (long)timeout.TotalSeconds;
        timeval[1] = timeout.Milliseconds * 1000L;
        return SetSockOpt(fd, SOL_SOCKET, SO_RCVTIMEO, timeval, 16);
    }

    /// <summary>recv(2) flag: return at once when nothing waits.</summary>
    public const int MSG_DONTWAIT = 0x40;

    /// <summary>
    /// Receives one datagram, again after a signal: the bytes received, 0 when the receive timed out (or, with
    /// <see cref="MSG_DONTWAIT"/>, nothing waited), or -1 with <paramref name="errno"/> for any other failure.
    /// </summary>
    public static int Receive(int fd, Span<byte> buffer, out int errno, int flags = 0)
    {
        fixed (byte* data = buffer)
        {
            while (true)
            {
                var received = Recv(fd, data, buffer.Length, flags);
                errno = received >= 0 ? 0 : Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case 0:
                        return (int)received;
                    case ErrorCodes.EINTR:
                        continue;
                    case ErrorCodes.EAGAIN:
                        errno = 0;
                        return 0;
                    default:
                        return -1;
                }
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport("libc", EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, byte* address, int length);

    [LibraryImport("libc", EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, int length);

    [LibraryImport("libc", EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(int fd, int level, int name, void* value, int* length);

    [LibraryImport("libc", EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* data, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* data, nint length, int flags);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int nstype);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    /// <summary>
    /// Writes all of <paramref name="data"/> to <paramref name="fd"/> with write(2), again after a signal or a
    /// short write: 0, or -1 with <paramref name="errno"/>. A plain write, not pwrite: it goes where the
    /// descriptor's file offset (shared with whoever else holds it) is at that moment.
    /// </summary>
    public static int WriteAll(int fd, ReadOnlySpan<byte> data, out int errno)
    {
        fixed (byte* start = data)
        {
            var done = 0;
            while (done < data.Length)
            {
                var written = WriteCall(fd, start + done, data.Length - done);
                if (written < 0)
                {
                    errno = Marshal.GetLastPInvokeError();
                    if (errno == ErrorCodes.EINTR)
                    {
                        continue;
                    }

                    return -1;
                }

                done += (int)written;
            }
        }

        errno = 0;
        return 0;
    }

    [LibraryImport("libc", EntryPoint = "write", SetLastError = true)]
    private static partial nint WriteCall(int fd, byte* data, nint length);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(void* address, nuint length, int advice);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    public static partial long Syscall(long number, int cmd, void* attr, uint size);

    /// <summary>
    /// Hands the pages glibc's allocator holds free back to the kernel (malloc_trim(3)); false
    /// where the C library has no such call (musl) or nothing was given back.
    /// </summary>
    public static bool TrimNativeHeap()
    {
        try
        {
            return MallocTrim(0) != 0;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>The inode number of <paramref name="path"/> (statx(2) with STATX_INO), or 0 when it cannot be read.</summary>
    public static ulong InodeOf(string path)
    {
        // struct statx is 256 bytes on every architecture; stx_ino is the u64 at offset 32.
        var buffer = stackalloc byte[256];
        const int AT_FDCWD = -100;
        const uint STATX_INO = 0x100;
        return Statx(AT_FDCWD, path, 0, STATX_INO, buffer) == 0 ? *(ulong*)(buffer + 32) : 0;
    }

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int directory, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
