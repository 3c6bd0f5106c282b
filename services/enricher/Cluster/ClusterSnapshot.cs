using System.Collections.Frozen;
using Egressd.Contracts;

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
        FrozenDictionary<string, FlowEndpoint>? hostNetworkPods = null)
    {
        Pods = pods;
        Nodes = nodes;
        Services = services;
        HostNetworkPods = hostNetworkPods ?? FrozenDictionary<string, FlowEndpoint>.Empty;
    }

    /// <summary>hostNetwork pods (deleted ones for a while too) by "namespace/name": a collector names them for node-address flows it attributed.</summary>
    public FrozenDictionary<string, FlowEndpoint> HostNetworkPods { get; }

    /// <summary>Pod addresses (deleted pods for a while too) → the pod with its node, zone, region and workload.</summary>
    public FrozenDictionary<IpAddr, FlowEndpoint> Pods { get; }

    /// <summary>Node addresses → the node with its zone and region (hostNetwork traffic).</summary>
    public FrozenDictionary<IpAddr, FlowEndpoint> Nodes { get; }

    /// <summary>Service cluster IPs → "namespace/name".</summary>
    public FrozenDictionary<IpAddr, string> Services { get; }
}
