using Egressd.Contracts;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// One socket as the kernel's socket diagnostics list it: its ends, the cgroup v2 directory of the
/// process that created it (0 for TIME_WAIT and NEW_SYN_RECV mini sockets, which keep only their
/// cookie) and its cookie, which stays the same for the socket's whole life; and its inode, which
/// names it among a process's open files (<c>/proc/&lt;pid&gt;/fd</c>), 0 for the mini sockets.
/// </summary>
internal readonly record struct SocketRecord(
    byte Protocol,
    byte State,
    IpAddr Local,
    ushort LocalPort,
    IpAddr Remote,
    ushort RemotePort,
    ulong Cookie,
    ulong CgroupId,
    uint Inode = 0)
{
    /// <summary>TCP_LISTEN.</summary>
    public const byte Listen = 10;

    /// <summary>No peer: a TCP listener or an unconnected UDP socket (it answers on its local port).</summary>
    public bool IsUnconnected => RemotePort == 0;
}
