using Egressd.Contracts;

namespace Egressd.Shared.Cost;

/// <summary>
/// Each provider's on-demand list prices for the first volume tier, in the provider's own unit (GB for
/// AWS and Azure, GiB for Google). docs/COST.md gives each figure's public source, the date it was read,
/// and which ones are still to be confirmed; change both together. Anything a cluster pays differently
/// (another region, a negotiated rate) is a setting, not an edit here.
/// </summary>
public static class BuiltInPrices
{
    /// <summary>
    /// AWS (US East): between zones the sender and the receiver each pay; between regions only the
    /// sender; internet ingress is free; a NAT gateway charges every byte it processes.
    /// </summary>
    public static PriceTable Aws { get; } = PriceTable.Free
        .WithEgress(TrafficClass.CrossZone, BytePrice.PerGigabyte(0.01m))
        .WithIngress(TrafficClass.CrossZone, BytePrice.PerGigabyte(0.01m))
        .WithEgress(TrafficClass.CrossRegion, BytePrice.PerGigabyte(0.02m))
        .WithEgress(TrafficClass.Internet, BytePrice.PerGigabyte(0.09m))
        .WithNat(BytePrice.PerGigabyte(0.045m));

    /// <summary>
    /// Google Cloud (North America, Premium Tier): each direction is egress at its source and free
    /// ingress at its destination; Cloud NAT charges both directions.
    /// </summary>
    public static PriceTable Gcp { get; } = PriceTable.Free
        .WithEgress(TrafficClass.CrossZone, BytePrice.PerGibibyte(0.01m))
        .WithEgress(TrafficClass.CrossRegion, BytePrice.PerGibibyte(0.02m))
        .WithEgress(TrafficClass.Internet, BytePrice.PerGibibyte(0.12m))
        .WithNat(BytePrice.PerGibibyte(0.045m));

    /// <summary>
    /// Azure (North America and Europe): no charge between zones of a region since 2024; the sender
    /// pays between regions and to the internet; a NAT gateway charges the data it processes.
    /// </summary>
    public static PriceTable Azure { get; } = PriceTable.Free
        .WithEgress(TrafficClass.CrossRegion, BytePrice.PerGigabyte(0.02m))
        .WithEgress(TrafficClass.Internet, BytePrice.PerGigabyte(0.087m))
        .WithNat(BytePrice.PerGigabyte(0.045m));

    public static PriceTable For(CloudProvider provider) => provider switch
    {
        CloudProvider.Aws => Aws,
        CloudProvider.Gcp => Gcp,
        CloudProvider.Azure => Azure,
        _ => PriceTable.Free,
    };
}
