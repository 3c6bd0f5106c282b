using Egressd.Contracts;

namespace Egressd.Shared.Network;

/// <summary>
/// The one answer to "is this address public?": every service asks here (the collector grouping
/// public destinations, the enricher's internet class, the exporter's <c>dst_ip_type</c> and the
/// HTTP sink's destination fields), so all of them draw the line at the same private ranges.
/// </summary>
public sealed class PublicAddresses(CidrSet privateNetworks)
{
    /// <summary>An address outside every private range (<c>Egressd:Network:PrivateCidrs</c>).</summary>
    public bool Contains(IpAddr address) => !privateNetworks.Contains(address);

    /// <summary>
    /// Whether a flow goes to a public destination: the enricher's traffic class when it knows;
    /// when it left the class unknown, the destination address, as egressd does.
    /// </summary>
    public bool ContainsDestination(in EnrichedFlow flow) => flow.TrafficClass switch
    {
        TrafficClass.Internet => true,
        TrafficClass.Unknown => Contains(flow.Flow.DestinationIp),
        _ => false,
    };
}
