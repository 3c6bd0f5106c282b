using Egressd.Contracts;

namespace Egressd.Shared.Cost;

/// <summary>
/// Prices a pod's traffic by its provider's rules. Each pod pays for its own side only: what it sends
/// at its class's egress price, what it receives at the class's ingress price (AWS charges the receiver
/// between zones, most others do not). When both ends are pods of the cluster, each observed by its own
/// node, the two sides add up to the provider's charge once. Internet traffic of a node behind NAT also
/// pays the gateway's processing, in both directions. Pure and thread-safe.
/// </summary>
public sealed class PriceModel
{
    private readonly bool enabled;
    private readonly Dictionary<CloudProvider, PriceTable> tables;
    private readonly Dictionary<(string Region, TrafficClass Class), BytePrice> regionPrices;
    private readonly Dictionary<(string From, string To), BytePrice> pairPrices;
    private readonly CostDestination[] destinations;

    /// <param name="options">Already checked by <c>CostOptionsValidator</c>; unreadable entries are skipped.</param>
    public PriceModel(CostOptions options)
    {
        enabled = options.Enabled;
        tables = Enum.GetValues<CloudProvider>().ToDictionary(p => p, p => WithOverrides(BuiltInPrices.For(p), options));

        regionPrices = [];
        foreach (var (region, prices) in options.RegionPrices)
        {
            foreach (var (name, text) in prices)
            {
                if (TrafficClasses.TryParse(name, out var trafficClass) && BytePrice.TryParse(text, out var price))
                {
                    regionPrices[(region, trafficClass)] = price;
                }
            }
        }

        pairPrices = [];
        foreach (var (from, prices) in options.RegionPairPrices)
        {
            foreach (var (to, text) in prices)
            {
                if (BytePrice.TryParse(text, out var price))
                {
                    pairPrices[(from, to)] = price;
                }
            }
        }

        destinations = [.. options.Destinations.Select(CostDestination.From).Where(d => !d.Networks.IsEmpty)];
    }

    public bool Enabled => enabled;

    /// <summary>The prices a node of <paramref name="provider"/> pays, settings applied (destination and region ones aside).</summary>
    public PriceTable Table(CloudProvider provider) => tables[provider];

    /// <summary>
    /// What <paramref name="bytes"/> that the local pod of <paramref name="endpoints"/> sent
    /// (<see cref="TransferDirection.Transmit"/>) or received (<see cref="TransferDirection.Receive"/>)
    /// in <paramref name="trafficClass"/> cost it.
    /// </summary>
    public TransferCharge Price(long bytes, TransferDirection direction, TrafficClass trafficClass, in CostEndpoints endpoints)
    {
        var kind = direction == TransferDirection.Transmit ? ChargeKind.Egress : ChargeKind.Ingress;
        if (!enabled || bytes <= 0)
        {
            return new TransferCharge { Kind = kind, PricedAs = trafficClass };
        }

        var local = endpoints.Local;
        var destination = Match(endpoints.RemoteAddress);
        switch (destination?.Kind)
        {
            case CostDestinationKind.Free:
                return new TransferCharge { Kind = kind, PricedAs = trafficClass };
            case CostDestinationKind.Priced:
                // A private path (an interconnect, a VPN): the sender pays its rate, no NAT on the way.
                return new TransferCharge
                {
                    Kind = kind,
                    Amount = direction == TransferDirection.Transmit ? destination.Price.Of(bytes) : Money.Zero,
                    PricedAs = trafficClass,
                };
            case CostDestinationKind.Classed:
                trafficClass = destination.Class;
                break;
            case CostDestinationKind.Placed:
                trafficClass = destination.ClassFrom(local);
                break;
        }

        var table = tables[local.Provider];
        var price = direction == TransferDirection.Transmit
            ? EgressPrice(table, trafficClass, local.Region, destination?.Kind == CostDestinationKind.Placed ? destination.Region : endpoints.RemoteRegion)
            : table.Ingress(trafficClass);
        return new TransferCharge
        {
            Kind = kind,
            Amount = price.Of(bytes),
            Nat = trafficClass == TrafficClass.Internet && local.BehindNat ? table.Nat.Of(bytes) : Money.Zero,
            PricedAs = trafficClass,
        };
    }

    /// <summary>Both directions of a flow seen from its local pod: what it sent and what it received.</summary>
    public FlowCost PriceFlow(long transmitBytes, long receiveBytes, TrafficClass trafficClass, in CostEndpoints endpoints)
    {
        var sent = Price(transmitBytes, TransferDirection.Transmit, trafficClass, endpoints);
        var received = Price(receiveBytes, TransferDirection.Receive, trafficClass, endpoints);
        return new FlowCost(sent.Amount, received.Amount, sent.Nat + received.Nat);
    }

    private BytePrice EgressPrice(PriceTable table, TrafficClass trafficClass, string? from, string? to)
    {
        if (from is not null)
        {
            if (trafficClass == TrafficClass.CrossRegion && to is not null && pairPrices.TryGetValue((from, to), out var pair))
            {
                return pair;
            }

            if (regionPrices.TryGetValue((from, trafficClass), out var regional))
            {
                return regional;
            }
        }

        return table.Egress(trafficClass);
    }

    private CostDestination? Match(IpAddr address)
    {
        if (address.IsNone)
        {
            return null;
        }

        foreach (var destination in destinations)
        {
            if (destination.Networks.Contains(address))
            {
                return destination;
            }
        }

        return null;
    }

    private static PriceTable WithOverrides(PriceTable table, CostOptions options)
    {
        foreach (var (name, text) in options.Prices)
        {
            if (TrafficClasses.TryParse(name, out var trafficClass) && BytePrice.TryParse(text, out var price))
            {
                table = table.WithEgress(trafficClass, price);
            }
        }

        foreach (var (name, text) in options.IngressPrices)
        {
            if (TrafficClasses.TryParse(name, out var trafficClass) && BytePrice.TryParse(text, out var price))
            {
                table = table.WithIngress(trafficClass, price);
            }
        }

        return BytePrice.TryParse(options.NatPrice, out var nat) ? table.WithNat(nat) : table;
    }
}
