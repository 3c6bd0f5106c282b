using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Enricher.Enrichment;

/// <summary>
/// Decides what a flow's traffic costs: same node, same zone, across zones or regions, out to the
/// internet, or to a private address outside the cluster. CIDR rules from configuration win over
/// what the cluster says (for addresses the cluster cannot know, such as a peered VPC); the first
/// rule that matches decides.
/// </summary>
internal sealed class TrafficClassifier(PublicAddresses publicAddresses, IEnumerable<(CidrSet Networks, TrafficClass Class)> rules)
{
    private readonly (CidrSet Networks, TrafficClass Class)[] rules = [.. rules.Where(r => !r.Networks.IsEmpty)];

    public bool HasRules => rules.Length > 0;

    /// <summary>Both ends are in the cluster (pods or nodes).</summary>
    public static TrafficClass InCluster(FlowEndpoint source, FlowEndpoint destination)
    {
        if (source.Node is not null && source.Node == destination.Node)
        {
            return TrafficClass.SameNode;
        }

        if (source.Zone is null || destination.Zone is null)
        {
            return TrafficClass.Unknown;
        }

        if (source.Zone == destination.Zone)
        {
            return TrafficClass.SameZone;
        }

        return source.Region is not null && destination.Region is not null && source.Region != destination.Region
            ? TrafficClass.CrossRegion
            : TrafficClass.CrossZone;
    }

    /// <summary>The destination is outside the cluster.</summary>
    public TrafficClass External(IpAddr destination) =>
        publicAddresses.Contains(destination) ? TrafficClass.Internet : TrafficClass.PrivateExternal;

    /// <summary>The class a configured CIDR rule gives the destination, if any rule matches.</summary>
    public TrafficClass? Rule(IpAddr destination)
    {
        foreach (var (networks, trafficClass) in rules)
        {
            if (networks.Contains(destination))
            {
                return trafficClass;
            }
        }

        return null;
    }
}
