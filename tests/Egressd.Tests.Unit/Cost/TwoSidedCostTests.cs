using Egressd.Contracts;
using Egressd.Shared.Cost;
using static Egressd.Tests.Cost.CostScenario;

namespace Egressd.Tests.Cost;

/// <summary>
/// Two pods of the cluster in different zones, each observed by its own node: each side pays its own
/// share, and the shares add up to the provider's charge for those bytes once, never twice.
/// </summary>
public sealed class TwoSidedCostTests
{
    public static TheoryData<CloudProvider, TrafficClass, string, string, decimal> Formulas => new()
    {
        // Each byte between zones: $0.01/GB out of one zone and $0.01/GB into the other.
        { CloudProvider.Aws, TrafficClass.CrossZone, "us-east-1", "us-east-1", 0.02m },
        // Between regions only the sending region charges.
        { CloudProvider.Aws, TrafficClass.CrossRegion, "us-east-1", "us-west-2", 0.02m },
        // Google charges each direction once, as egress at its source.
        { CloudProvider.Gcp, TrafficClass.CrossZone, "us-central1", "us-central1", 0.01m },
        { CloudProvider.Gcp, TrafficClass.CrossRegion, "us-central1", "us-east1", 0.02m },
        { CloudProvider.Azure, TrafficClass.CrossZone, "eastus", "eastus", 0m },
        { CloudProvider.Azure, TrafficClass.CrossRegion, "eastus", "westus", 0.02m },
    };

    [Theory]
    [MemberData(nameof(Formulas))]
    public void Both_sides_add_up_to_the_bill_once(CloudProvider provider, TrafficClass trafficClass, string regionA, string regionB, decimal dollarsPerUnitCrossing)
    {
        var unit = provider == CloudProvider.Gcp ? Gibibyte : Gigabyte;
        var model = Model();
        var a = Node(provider, "zone-a", regionA);
        var b = Node(provider, "zone-b", regionB);
        const long AToB = 7_340_032_123;
        const long BToA = 2_097_152_977;

        // A's collector sees the flow from A: sent AToB, received BToA. B's sees it mirrored.
        var paidByA = model.PriceFlow(AToB, BToA, trafficClass, From(a, b.Zone, b.Region));
        var paidByB = model.PriceFlow(BToA, AToB, trafficClass, From(b, a.Zone, a.Region));

        Assert.Equal(Dollars(dollarsPerUnitCrossing, AToB + BToA, unit), paidByA.Total + paidByB.Total);

        // And each share is its own side: what it sent at egress, what it received at ingress.
        var table = model.Table(provider);
        Assert.Equal(table.Egress(trafficClass).Of(AToB) + table.Ingress(trafficClass).Of(BToA), paidByA.Total);
        Assert.Equal(table.Egress(trafficClass).Of(BToA) + table.Ingress(trafficClass).Of(AToB), paidByB.Total);
    }

    [Fact]
    public void AWS_cross_zone_shares_are_exact_to_the_micro_dollar_over_many_windows()
    {
        var model = Model();
        var a = Node(CloudProvider.Aws, "us-east-1a", "us-east-1");
        var b = Node(CloudProvider.Aws, "us-east-1b", "us-east-1");
        var total = Money.Zero;
        long bytes = 0;

        // A window of uneven counts at a time, as collectors report them.
        for (var window = 1; window <= 100_000; window++)
        {
            var sent = (window * 7919L) % 100_003;
            var received = (window * 104_729L) % 99_991;
            total += model.PriceFlow(sent, received, TrafficClass.CrossZone, From(a, b.Zone, b.Region)).Total;
            total += model.PriceFlow(received, sent, TrafficClass.CrossZone, From(b, a.Zone, a.Region)).Total;
            bytes += sent + received;
        }

        // $0.02 per GB crossing, both shares together: micro-dollars = bytes × 0.02 × 10^6 / 10^9.
        Assert.Equal(Dollars(0.02m, bytes, Gigabyte), total);
        Assert.Equal((bytes * 2 + 50_000) / 100_000, (long)total.MicroDollars);
    }
}
