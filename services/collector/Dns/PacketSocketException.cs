using Egressd.Collector.Native;

namespace Egressd.Collector.Dns;

/// <summary>An error from a packet socket's system call, with its errno.</summary>
public sealed class PacketSocketException(string operation, int errno) : SystemCallException(operation, errno);
