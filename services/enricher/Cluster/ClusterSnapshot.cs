using System.Collections.Frozen;
using Egressd.Contracts;
using Egressd.Shared.Cost;

namespace Egressd.Enricher.Cluster;

/// <summary>
/// An immutable view of the cluster for enrichment: lookups by address, built once per change
/// and shared by every consumer thread without locks.
/// </summary>
internal sealed class ClusterSnapshot
{
    public static ClusterSnapshot Empty { get; } = new(
        FrozenDictionary<IpAddr, FlowEndpoint>.Empty, FrozenDictionary<IpAddr, FlowEndpoint>.Empty, FrozenDictionary<IpAddr, string>.Empty);

    public ClusterSnapshot(
        FrozenDictionary<IpAddr, FlowEndpoint> pods,
        FrozenDictionary<IpAddr, FlowEndpoint> nodes,
        FrozenDictionary<IpAddr, string> services,
        FrozenDictionary<string, FlowEndpoint>? hostNetworkPods = null,
        FrozenDictionary<string, NodePlacement>? placements = null,
        NodePlacement? unknownNode = null)
    {
        Pods = pods;
        Nodes = nodes;
        Services = services;
        HostNetworkPods = hostNetworkPods ?? FrozenDictionary<string, FlowEndpoint>.Empty;
        Placements = placements ?? FrozenDictionary<string, NodePlacement>.Empty;
        UnknownNode = unknownNode ?? NodePlacement.Unknown;
    }

    /// <summary>hostNetwork pods (deleted ones for a while too) by "namespace/name": a collector names them for node-address flows it attributed.</summary>
    public FrozenDictionary<string, FlowEndpoint> HostNetworkPods { get; }

    /// <summary>Node names → where each node is as its traffic's price goes (provider, region, zone, NAT).</summary>
    public FrozenDictionary<string, NodePlacement> Placements { get; }

    /// <summary>The placement of a node the API has not shown: the cluster-wide provider and region, no NAT.</summary>
    public NodePlacement UnknownNode { get; }

    /// <summary>The placement of the node named <paramref name="node"/>.</summary>
    public NodePlacement PlacementOf(string? node) =>
        node is not null && Placements.TryGetValue(node, out var placement) ? placement : UnknownNode;

    /// <summary>Pod addresses (deleted pods for a while too) → the pod with its node, zone, region and workload.</summary>
    public FrozenDictionary<IpAddr, FlowEndpoint> Pods { get; }

    /// <summary>Node addresses → the node with its zone and region (hostNetwork traffic).</summary>
    public FrozenDictionary<IpAddr, FlowEndpoint> Nodes { get; }

    /// <summary>Service cluster IPs → "namespace/name".</summary>
    public FrozenDictionary<IpAddr, string> Services { get; }
}
