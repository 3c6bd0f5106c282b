namespace Egressd.Collector.HostNetwork;

/// <summary>What the socket behind one end of a node-address flow says about who sent it.</summary>
internal enum HostOutcome : byte
{
    /// <summary>No socket (or its cgroup) found: the node's, and looked up again at the next read.</summary>
    Unresolved,

    /// <summary>A hostNetwork pod's socket.</summary>
    Pod,

    /// <summary>A socket of a process outside any pod: the node's (with its systemd unit when it runs in one).</summary>
    Node,

    /// <summary>A hostNetwork pod of an excluded namespace: not reported, like any pod of it.</summary>
    Excluded,
}

/// <summary>The owner of a node-address flow's local end: a hostNetwork pod (<c>namespace/name</c>) or the node, with its systemd unit when known.</summary>
internal readonly record struct HostOwner(HostOutcome Outcome, string? Pod = null, string? Unit = null)
{
    public static HostOwner Unresolved => default;
}
