using Egressd.Contracts;
using Egressd.Shared.Cost;
using static Egressd.Tests.Cost.CostScenario;

namespace Egressd.Tests.Cost;

/// <summary>Destinations priced by address: free, at their own rate, as a class, or placed in a zone.</summary>
public sealed class CostDestinationTests
{
    private static readonly PriceModel Model = PriceOverrideTests.ModelFromConfiguration(new()
    {
        ["Egressd:Cost:Destinations:0:Cidrs:0"] = "10.50.0.0/16",
        ["Egressd:Cost:Destinations:0:Price"] = "free",
        ["Egressd:Cost:Destinations:1:Cidrs:0"] = "172.20.0.0/16",
        ["Egressd:Cost:Destinations:1:Cidrs:1"] = "fd00:20::/32",
        ["Egressd:Cost:Destinations:1:Price"] = "0.02/GB",
        ["Egressd:Cost:Destinations:2:Cidrs:0"] = "10.60.0.0/16",
        ["Egressd:Cost:Destinations:2:Class"] = "cross-zone",
        ["Egressd:Cost:Destinations:3:Cidrs:0"] = "10.70.1.0/24",
        ["Egressd:Cost:Destinations:3:Zone"] = "us-east-1a",
        ["Egressd:Cost:Destinations:3:Region"] = "us-east-1",
        ["Egressd:Cost:Destinations:4:Cidrs:0"] = "10.80.0.0/16",
        ["Egressd:Cost:Destinations:4:Region"] = "eu-west-1",
        // Shadowed by rule 0: the first match wins.
        ["Egressd:Cost:Destinations:5:Cidrs:0"] = "10.50.1.0/24",
        ["Egressd:Cost:Destinations:5:Price"] = "1/GB",
    });

    private static readonly NodePlacement UsEast1a = Node(CloudProvider.Aws, "us-east-1a", "us-east-1", behindNat: true);
    private static readonly NodePlacement UsEast1b = Node(CloudProvider.Aws, "us-east-1b", "us-east-1", behindNat: true);

    [Theory]
    [InlineData("10.50.1.1", TrafficClass.PrivateExternal, 0, 0, 0)]
    [InlineData("10.50.1.1", TrafficClass.Internet, 0, 0, 0)]
    [InlineData("172.20.3.4", TrafficClass.PrivateExternal, 0.02, 0, 0)]
    [InlineData("fd00:20::1", TrafficClass.Internet, 0.02, 0, 0)]
    [InlineData("10.60.0.9", TrafficClass.PrivateExternal, 0.01, 0.01, 0)]
    [InlineData("10.70.1.9", TrafficClass.PrivateExternal, 0, 0, 0)]
    [InlineData("10.80.0.9", TrafficClass.PrivateExternal, 0.02, 0, 0)]
    [InlineData("10.90.0.9", TrafficClass.PrivateExternal, 0, 0, 0)]
    [InlineData("198.18.0.10", TrafficClass.Internet, 0.09, 0, 0.09)]
    public void A_rule_prices_what_it_matches_per_GB(string address, TrafficClass trafficClass, decimal egress, decimal ingress, decimal nat)
    {
        var cost = Model.PriceFlow(Gigabyte, Gigabyte, trafficClass, From(UsEast1a, remoteAddress: address));

        Assert.Equal(egress, cost.Egress.Dollars);
        Assert.Equal(ingress, cost.Ingress.Dollars);
        Assert.Equal(nat, cost.Nat.Dollars);
    }

    [Fact]
    public void A_placed_range_is_classed_against_the_senders_zone()
    {
        var sameZone = Model.Price(Gigabyte, TransferDirection.Transmit, TrafficClass.PrivateExternal, From(UsEast1a, remoteAddress: "10.70.1.9"));
        var otherZone = Model.Price(Gigabyte, TransferDirection.Transmit, TrafficClass.PrivateExternal, From(UsEast1b, remoteAddress: "10.70.1.9"));
        var otherRegion = Model.Price(Gigabyte, TransferDirection.Transmit, TrafficClass.PrivateExternal, From(UsEast1b, remoteAddress: "10.80.0.9"));

        Assert.Equal(TrafficClass.SameZone, sameZone.PricedAs);
        Assert.Equal(Money.Zero, sameZone.Amount);
        Assert.Equal(TrafficClass.CrossZone, otherZone.PricedAs);
        Assert.Equal(0.01m, otherZone.Amount.Dollars);
        Assert.Equal(TrafficClass.CrossRegion, otherRegion.PricedAs);
        Assert.Equal(0.02m, otherRegion.Amount.Dollars);
    }

    [Fact]
    public void Without_an_address_no_rule_applies()
    {
        var cost = Model.PriceFlow(Gigabyte, Gigabyte, TrafficClass.CrossZone, From(UsEast1a, "us-east-1b", "us-east-1"));
        Assert.Equal(0.02m, cost.Total.Dollars);
    }
}
