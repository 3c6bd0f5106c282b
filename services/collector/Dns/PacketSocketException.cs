using System.Runtime.InteropServices;

namespace Egressd.Collector.Dns;

/// <summary>An error from a packet socket's system call, with its errno.</summary>
public sealed class PacketSocketException(string operation, int errno)
    : Exception($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public int Errno { get; } = errno;

    // EPERM, EACCES
    public bool IsPermissionDenied => Errno is 1 or 13;
}
