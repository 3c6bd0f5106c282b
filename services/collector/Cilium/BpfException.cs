using Egressd.Collector.Native;

namespace Egressd.Collector.Cilium;

/// <summary>An error from a bpf(2) call, with its errno.</summary>
public sealed class BpfException(string operation, int errno) : SystemCallException(operation, errno)
{
    public bool IsNotFound => Errno == ErrorCodes.ENOENT;
}
