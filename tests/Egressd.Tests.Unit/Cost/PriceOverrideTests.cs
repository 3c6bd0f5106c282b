using Egressd.Contracts;
using Egressd.Shared.Cost;
using static Egressd.Tests.Cost.CostScenario;

namespace Egressd.Tests.Cost;

/// <summary>An override changes exactly what it names: every other provider, class, direction and region keeps its price.</summary>
public sealed class PriceOverrideTests
{
    private static readonly string[] Regions = ["us-east-1", "eu-west-1", "sa-east-1"];

    public static TheoryData<string, string, string> Overrides => new()
    {
        // setting, value, what it must change: "direction/class/from/to" with * for any.
        { "Prices:cross-zone", "0.02/GB", "Transmit/CrossZone/*/*" },
        { "Prices:internet", "0.05/GiB", "Transmit/Internet/*/*" },
        { "Prices:same-zone", "0.001/GB", "Transmit/SameZone/*/*" },
        { "IngressPrices:cross-region", "0.03/GB", "Receive/CrossRegion/*/*" },
        { "IngressPrices:cross-zone", "free", "Receive/CrossZone/*/*" },
        { "RegionPrices:sa-east-1:internet", "0.15/GB", "Transmit/Internet/sa-east-1/*" },
        { "RegionPrices:eu-west-1:cross-region", "0.05/GB", "Transmit/CrossRegion/eu-west-1/*" },
        { "RegionPairPrices:us-east-1:eu-west-1", "0.04/GB", "Transmit/CrossRegion/us-east-1/eu-west-1" },
        { "NatPrice", "0.06/GB", "Nat/Internet/*/*" },
    };

    [Theory]
    [MemberData(nameof(Overrides))]
    public void An_override_changes_exactly_what_it_names(string setting, string value, string changes)
    {
        var baseline = Model();
        var changed = ModelFromConfiguration(new() { [$"Egressd:Cost:{setting}"] = value });
        var expected = BytePrice.TryParse(value, out var price) ? price : throw new FormatException(value);
        var scope = changes.Split('/');

        var changedCount = 0;
        foreach (var provider in Providers)
        {
            foreach (var trafficClass in Enum.GetValues<TrafficClass>())
            {
                foreach (var from in Regions)
                {
                    foreach (var to in Regions)
                    {
                        var endpoints = From(Node(provider, region: from, behindNat: true), "zone-b", to);
                        foreach (var direction in Enum.GetValues<TransferDirection>())
                        {
                            var before = baseline.Price(7 * Gigabyte, direction, trafficClass, endpoints);
                            var after = changed.Price(7 * Gigabyte, direction, trafficClass, endpoints);
                            var named = Named(scope, direction.ToString(), trafficClass, from, to);
                            var natNamed = Named(scope, "Nat", trafficClass, from, to);

                            Assert.Equal(named ? expected.Of(7 * Gigabyte) : before.Amount, after.Amount);
                            Assert.Equal(natNamed ? expected.Of(7 * Gigabyte) : before.Nat, after.Nat);
                            changedCount += named || natNamed ? 1 : 0;
                        }
                    }
                }
            }
        }

        Assert.True(changedCount > 0, "the override named nothing the loop priced");
    }

    [Fact]
    public void A_region_pair_beats_its_source_region_which_beats_the_class()
    {
        var model = ModelFromConfiguration(new()
        {
            ["Egressd:Cost:Prices:cross-region"] = "0.03/GB",
            ["Egressd:Cost:RegionPrices:us-east-1:cross-region"] = "0.025/GB",
            ["Egressd:Cost:RegionPairPrices:us-east-1:us-east-2"] = "0.01/GB",
        });

        Money Sent(string from, string to) =>
            model.Price(Gigabyte, TransferDirection.Transmit, TrafficClass.CrossRegion, From(Node(CloudProvider.Aws, region: from), "zone-x", to)).Amount;

        Assert.Equal(0.01m, Sent("us-east-1", "us-east-2").Dollars);
        Assert.Equal(0.025m, Sent("us-east-1", "eu-west-1").Dollars);
        Assert.Equal(0.03m, Sent("eu-west-1", "us-east-1").Dollars);
    }

    [Fact]
    public void A_cluster_outside_the_known_clouds_pays_only_what_it_configures()
    {
        var model = ModelFromConfiguration(new() { ["Egressd:Cost:Provider"] = "None", ["Egressd:Cost:Prices:internet"] = "0.05/GB" });
        var placement = new NodePlacementResolver(Bind(new() { ["Egressd:Cost:Provider"] = "none" }))
            .Resolve("aws:///us-east-1a/i-0abc", null, ["203.0.113.7"], null);

        var cost = model.PriceFlow(Gigabyte, Gigabyte, TrafficClass.Internet, From(placement));
        Assert.Equal(CloudProvider.Unknown, placement.Provider);
        Assert.Equal(0.05m, cost.Total.Dollars);
        Assert.Equal(Money.Zero, model.PriceFlow(Gigabyte, Gigabyte, TrafficClass.CrossZone, From(placement)).Total);
    }

    private static bool Named(string[] scope, string direction, TrafficClass trafficClass, string from, string to) =>
        scope[0] == direction
        && scope[1] == trafficClass.ToString()
        && (scope[2] == "*" || scope[2] == from)
        && (scope[3] == "*" || scope[3] == to);

    internal static PriceModel ModelFromConfiguration(Dictionary<string, string?> settings) => new(Bind(settings));

    internal static CostOptions Bind(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(CostOptions.Section).Get<CostOptions>() ?? new CostOptions();
}
