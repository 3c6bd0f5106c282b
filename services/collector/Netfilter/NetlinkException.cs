using Egressd.Collector.Native;

namespace Egressd.Collector.Netfilter;

/// <summary>An error from a netlink system call, with its errno.</summary>
public sealed class NetlinkException(string operation, int errno) : SystemCallException(operation, errno);
