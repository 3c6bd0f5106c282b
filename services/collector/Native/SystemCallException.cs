using System.Runtime.InteropServices;

namespace Egressd.Collector.Native;

/// <summary>A failed system call, with its errno; each kind of socket or map has its own subclass to catch.</summary>
public abstract class SystemCallException(string operation, int errno)
    : Exception($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public int Errno { get; } = errno;

    public bool IsPermissionDenied => Errno is ErrorCodes.EPERM or ErrorCodes.EACCES;
}
