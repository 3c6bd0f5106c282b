using System.Runtime.InteropServices;

namespace Egressd.Collector.Cilium;

/// <summary>An error from a bpf(2) call, with its errno.</summary>
public sealed class BpfException(string operation, int errno)
    : Exception($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
{
    public int Errno { get; } = errno;

    // EPERM, EACCES
    public bool IsPermissionDenied => Errno is 1 or 13;

    public bool IsNotFound => Errno == BpfSyscall.ENOENT;
}
