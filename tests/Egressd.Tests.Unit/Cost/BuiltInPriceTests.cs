using Egressd.Contracts;
using Egressd.Shared.Cost;
using static Egressd.Tests.Cost.CostScenario;

namespace Egressd.Tests.Cost;

/// <summary>For each provider, class and direction: bytes in, dollars out, as docs/COST.md states the rule.</summary>
public sealed class BuiltInPriceTests
{
    /// <summary>docs/COST.md's table: provider, class, $ per unit the sender pays, $ per unit the receiver pays, unit.</summary>
    public static TheoryData<CloudProvider, TrafficClass, decimal, decimal, long> Rules => new()
    {
        { CloudProvider.Aws, TrafficClass.SameNode, 0m, 0m, Gigabyte },
        { CloudProvider.Aws, TrafficClass.SameZone, 0m, 0m, Gigabyte },
        { CloudProvider.Aws, TrafficClass.CrossZone, 0.01m, 0.01m, Gigabyte },
        { CloudProvider.Aws, TrafficClass.CrossRegion, 0.02m, 0m, Gigabyte },
        { CloudProvider.Aws, TrafficClass.Internet, 0.09m, 0m, Gigabyte },
        { CloudProvider.Aws, TrafficClass.PrivateExternal, 0m, 0m, Gigabyte },
        { CloudProvider.Aws, TrafficClass.Unknown, 0m, 0m, Gigabyte },
        { CloudProvider.Gcp, TrafficClass.SameNode, 0m, 0m, Gibibyte },
        { CloudProvider.Gcp, TrafficClass.SameZone, 0m, 0m, Gibibyte },
        { CloudProvider.Gcp, TrafficClass.CrossZone, 0.01m, 0m, Gibibyte },
        { CloudProvider.Gcp, TrafficClass.CrossRegion, 0.02m, 0m, Gibibyte },
        { CloudProvider.Gcp, TrafficClass.Internet, 0.12m, 0m, Gibibyte },
        { CloudProvider.Gcp, TrafficClass.PrivateExternal, 0m, 0m, Gibibyte },
        { CloudProvider.Gcp, TrafficClass.Unknown, 0m, 0m, Gibibyte },
        { CloudProvider.Azure, TrafficClass.SameNode, 0m, 0m, Gigabyte },
        { CloudProvider.Azure, TrafficClass.SameZone, 0m, 0m, Gigabyte },
        { CloudProvider.Azure, TrafficClass.CrossZone, 0m, 0m, Gigabyte },
        { CloudProvider.Azure, TrafficClass.CrossRegion, 0.02m, 0m, Gigabyte },
        { CloudProvider.Azure, TrafficClass.Internet, 0.087m, 0m, Gigabyte },
        { CloudProvider.Azure, TrafficClass.PrivateExternal, 0m, 0m, Gigabyte },
        { CloudProvider.Azure, TrafficClass.Unknown, 0m, 0m, Gigabyte },
        { CloudProvider.Unknown, TrafficClass.SameZone, 0m, 0m, Gigabyte },
        { CloudProvider.Unknown, TrafficClass.CrossZone, 0m, 0m, Gigabyte },
        { CloudProvider.Unknown, TrafficClass.CrossRegion, 0m, 0m, Gigabyte },
        { CloudProvider.Unknown, TrafficClass.Internet, 0m, 0m, Gigabyte },
    };

    [Theory]
    [MemberData(nameof(Rules))]
    public void Each_side_pays_its_class_price(CloudProvider provider, TrafficClass trafficClass, decimal egress, decimal ingress, long unit)
    {
        var model = Model();
        var endpoints = From(Node(provider), remoteZone: "zone-b", remoteRegion: "region-2");

        // A round and a ragged count: three units, and one that is no whole number of anything.
        foreach (var bytes in new[] { 3 * unit, 1_234_567_891L })
        {
            var sent = model.Price(bytes, TransferDirection.Transmit, trafficClass, endpoints);
            var received = model.Price(bytes, TransferDirection.Receive, trafficClass, endpoints);

            Assert.Equal(ChargeKind.Egress, sent.Kind);
            Assert.Equal(ChargeKind.Ingress, received.Kind);
            Assert.Equal(Dollars(egress, bytes, unit), sent.Amount);
            Assert.Equal(Dollars(ingress, bytes, unit), received.Amount);
            Assert.Equal(Money.Zero, sent.Nat);
            Assert.Equal(Money.Zero, received.Nat);
        }

        Assert.Equal(egress * 3, model.Price(3 * unit, TransferDirection.Transmit, trafficClass, endpoints).Amount.Dollars);
    }

    [Theory]
    [InlineData(CloudProvider.Aws, "0.045", Gigabyte)]
    [InlineData(CloudProvider.Gcp, "0.045", Gibibyte)]
    [InlineData(CloudProvider.Azure, "0.045", Gigabyte)]
    public void A_NAT_gateway_charges_its_processing_on_both_directions(CloudProvider provider, string dollarsPerUnit, long unit)
    {
        var model = Model();
        var nat = decimal.Parse(dollarsPerUnit, System.Globalization.CultureInfo.InvariantCulture);
        var endpoints = From(Node(provider, behindNat: true), remoteAddress: "198.18.0.10");

        var cost = model.PriceFlow(5 * unit, 2 * unit, TrafficClass.Internet, endpoints);

        Assert.Equal(Dollars(nat, 7 * unit, unit), cost.Nat);
        Assert.Equal(model.Table(provider).Egress(TrafficClass.Internet).Of(5 * unit), cost.Egress);
        Assert.Equal(Money.Zero, cost.Ingress);
    }

    [Fact]
    public void The_flow_price_is_its_two_directions()
    {
        var model = Model();
        var endpoints = From(Node(CloudProvider.Aws), "zone-b", "region-1");

        var cost = model.PriceFlow(4 * Gigabyte, 6 * Gigabyte, TrafficClass.CrossZone, endpoints);

        Assert.Equal(0.04m, cost.Egress.Dollars);
        Assert.Equal(0.06m, cost.Ingress.Dollars);
        Assert.Equal(0.10m, cost.Total.Dollars);
        Assert.Equal(cost.Egress, cost[ChargeKind.Egress]);
        Assert.Equal(cost.Ingress, cost[ChargeKind.Ingress]);
        Assert.Equal("egress,ingress,nat", string.Join(',', Enum.GetValues<ChargeKind>().Select(k => k.Name())));
    }

    [Fact]
    public void A_disabled_model_prices_nothing()
    {
        var model = Model(o => o.Enabled = false);
        var cost = model.PriceFlow(Gigabyte, Gigabyte, TrafficClass.Internet, From(Node(CloudProvider.Aws, behindNat: true)));
        Assert.True(cost.IsZero);
    }
}
