namespace Egressd.Contracts;

/// <summary>
/// Traffic of one (source IP, destination IP, protocol) key during one window, from the point of
/// view of the source, which is a pod on the collector's node. Counters are deltas for the window.
/// A value, not an object: a batch's flows are one array, however many there are.
/// </summary>
public readonly record struct FlowRecord
{
    public required IpAddr SourceIp { get; init; }

    /// <summary>The peer that answered (conntrack's reply source): for ClusterIP traffic, the backend pod.</summary>
    public required IpAddr DestinationIp { get; init; }

    /// <summary>The destination the source asked for before DNAT (a service address), or null when none was rewritten.</summary>
    public IpAddr? OriginalDestinationIp { get; init; }

    /// <summary>IANA protocol number: 6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6.</summary>
    public required int Protocol { get; init; }

    public required ulong TxBytes { get; init; }

    public required ulong RxBytes { get; init; }

    public required ulong TxPackets { get; init; }

    public required ulong RxPackets { get; init; }

    /// <summary>
    /// When the source is a node address: the hostNetwork pod whose socket carried the flow, as
    /// <c>namespace/name</c> (the collector found it by the socket's cgroup); null for the node
    /// itself or a source that is a pod's own address.
    /// </summary>
    public string? SourcePod { get; init; }

    /// <summary>When the source is a node address the collector gave to the node: the systemd unit its process runs in (<c>kubelet.service</c>), or null.</summary>
    public string? SourceUnit { get; init; }
}
