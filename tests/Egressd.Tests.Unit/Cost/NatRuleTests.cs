using Egressd.Contracts;
using Egressd.Shared.Cost;
using static Egressd.Tests.Cost.CostScenario;

namespace Egressd.Tests.Cost;

/// <summary>A node without a public address pays NAT processing on both directions of its internet traffic; one with it does not.</summary>
public sealed class NatRuleTests
{
    private static readonly Dictionary<string, string> PrivateSubnetLabels = new()
    {
        ["topology.kubernetes.io/region"] = "us-east-1",
        ["topology.kubernetes.io/zone"] = "us-east-1a",
        ["egressd.io/subnet"] = "private",
    };

    [Fact]
    public void A_node_without_an_external_address_pays_NAT_both_ways()
    {
        var node = Resolver().Resolve("aws:///us-east-1a/i-0abc", PrivateSubnetLabels, [], [IpAddr.Parse("10.0.1.5")]);
        var cost = Model().PriceFlow(3 * Gigabyte, 2 * Gigabyte, TrafficClass.Internet, From(node, remoteAddress: "198.18.0.10"));

        Assert.True(node.BehindNat);
        Assert.Equal(0.27m, cost.Egress.Dollars);
        Assert.Equal(0m, cost.Ingress.Dollars);
        Assert.Equal(0.225m, cost.Nat.Dollars);
    }

    [Fact]
    public void A_node_with_an_external_address_pays_no_NAT()
    {
        var node = Resolver().Resolve("aws:///us-east-1a/i-0abc", PrivateSubnetLabels, ["203.0.113.7"], [IpAddr.Parse("10.0.1.5")]);
        var cost = Model().PriceFlow(3 * Gigabyte, 2 * Gigabyte, TrafficClass.Internet, From(node, remoteAddress: "198.18.0.10"));

        Assert.False(node.BehindNat);
        Assert.Equal(0.27m, cost.Egress.Dollars);
        Assert.Equal(Money.Zero, cost.Nat);
    }

    [Fact]
    public void A_node_selector_or_a_node_range_puts_a_node_with_an_external_address_behind_NAT()
    {
        var bySelector = Resolver(o => o.Nat.NodeSelector = "egressd.io/subnet=private").Resolve("aws:///us-east-1a/i-0abc", PrivateSubnetLabels, ["203.0.113.7"], null);
        var byRange = Resolver(o => o.Nat.NodeCidrs = ["10.0.0.0/16"]).Resolve("aws:///us-east-1a/i-0abc", null, ["203.0.113.7"], [IpAddr.Parse("10.0.1.5")]);
        var neither = Resolver(o =>
        {
            o.Nat.NodeSelector = "egressd.io/subnet=private,role=egress";
            o.Nat.NodeCidrs = ["10.1.0.0/16"];
        }).Resolve("aws:///us-east-1a/i-0abc", PrivateSubnetLabels, ["203.0.113.7"], [IpAddr.Parse("10.0.1.5")]);

        Assert.True(bySelector.BehindNat);
        Assert.True(byRange.BehindNat);
        Assert.False(neither.BehindNat);
    }

    [Fact]
    public void NAT_can_be_turned_off()
    {
        var node = Resolver(o => o.Nat.Enabled = false).Resolve("aws:///us-east-1a/i-0abc", null, [], null);
        Assert.False(node.BehindNat);
    }

    [Theory]
    [InlineData(TrafficClass.SameZone)]
    [InlineData(TrafficClass.CrossZone)]
    [InlineData(TrafficClass.CrossRegion)]
    [InlineData(TrafficClass.PrivateExternal)]
    [InlineData(TrafficClass.Unknown)]
    public void Only_internet_traffic_goes_through_the_NAT_gateway(TrafficClass trafficClass)
    {
        var cost = Model().PriceFlow(Gigabyte, Gigabyte, trafficClass, From(Node(CloudProvider.Aws, behindNat: true), "zone-b", "region-2"));
        Assert.Equal(Money.Zero, cost.Nat);
    }

    [Fact]
    public void A_free_range_costs_nothing_NAT_included()
    {
        var model = PriceOverrideTests.ModelFromConfiguration(new()
        {
            // An S3 gateway endpoint's prefix list: reached without the NAT gateway, at no charge.
            ["Egressd:Cost:Destinations:0:Cidrs:0"] = "198.18.128.0/17",
            ["Egressd:Cost:Destinations:0:Price"] = "free",
        });
        var node = Node(CloudProvider.Aws, behindNat: true);

        var free = model.PriceFlow(5 * Gigabyte, 5 * Gigabyte, TrafficClass.Internet, From(node, remoteAddress: "198.18.200.1"));
        var paid = model.PriceFlow(5 * Gigabyte, 5 * Gigabyte, TrafficClass.Internet, From(node, remoteAddress: "198.18.0.10"));

        Assert.True(free.IsZero);
        Assert.Equal(0.45m + 0.45m, paid.Total.Dollars);
    }

    private static NodePlacementResolver Resolver(Action<CostOptions>? configure = null)
    {
        var options = new CostOptions();
        configure?.Invoke(options);
        return new NodePlacementResolver(options);
    }
}
