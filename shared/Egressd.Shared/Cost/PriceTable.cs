using Egressd.Contracts;

namespace Egressd.Shared.Cost;

/// <summary>
/// One provider's prices: what the sender pays per traffic class, what the receiver pays per traffic
/// class, and what a NAT gateway charges per byte it processes. Immutable: overrides make a new table.
/// </summary>
public sealed class PriceTable
{
    private static readonly int ClassCount = Enum.GetValues<TrafficClass>().Length;

    private readonly BytePrice[] egress;
    private readonly BytePrice[] ingress;

    private PriceTable(BytePrice[] egress, BytePrice[] ingress, BytePrice nat)
    {
        this.egress = egress;
        this.ingress = ingress;
        Nat = nat;
    }

    /// <summary>Every class free, no NAT charge: what a cluster outside the known clouds starts from.</summary>
    public static PriceTable Free { get; } = new(new BytePrice[ClassCount], new BytePrice[ClassCount], BytePrice.Free);

    /// <summary>A NAT gateway's processing price, charged on both directions of the traffic it carries.</summary>
    public BytePrice Nat { get; }

    /// <summary>What a pod pays for the bytes it sends in <paramref name="trafficClass"/>.</summary>
    public BytePrice Egress(TrafficClass trafficClass) => egress[Index(trafficClass)];

    /// <summary>What a pod pays for the bytes it receives in <paramref name="trafficClass"/>.</summary>
    public BytePrice Ingress(TrafficClass trafficClass) => ingress[Index(trafficClass)];

    public PriceTable WithEgress(TrafficClass trafficClass, BytePrice price) => new(Replace(egress, trafficClass, price), ingress, Nat);

    public PriceTable WithIngress(TrafficClass trafficClass, BytePrice price) => new(egress, Replace(ingress, trafficClass, price), Nat);

    public PriceTable WithNat(BytePrice price) => new(egress, ingress, price);

    private static int Index(TrafficClass trafficClass) =>
        (int)trafficClass is var i && i >= 0 && i < ClassCount ? i : (int)TrafficClass.Unknown;

    private static BytePrice[] Replace(BytePrice[] prices, TrafficClass trafficClass, BytePrice price)
    {
        var copy = (BytePrice[])prices.Clone();
        copy[Index(trafficClass)] = price;
        return copy;
    }
}
