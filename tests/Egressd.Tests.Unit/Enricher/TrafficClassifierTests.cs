using Egressd.Contracts;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Network;

namespace Egressd.Tests.Enricher;

public sealed class TrafficClassifierTests
{
    private static readonly TrafficClassifier Classifier = new(
        new NetworkOptions().PublicAddresses(),
        [
            (CidrSet.Parse(["10.50.0.0/16", "fd50::/16"]), TrafficClass.SameZone),
            (CidrSet.Parse(["10.60.0.0/16"]), TrafficClass.CrossZone),
            (CidrSet.Parse(["10.70.0.0/16", "10.50.7.0/24"]), TrafficClass.CrossRegion),
            (CidrSet.Parse(["192.168.100.0/24"]), TrafficClass.Internet),
            (CidrSet.Parse([]), TrafficClass.SameNode),
        ]);

    [Theory]
    [InlineData("10.50.1.2", TrafficClass.SameZone)]
    [InlineData("fd50::9", TrafficClass.SameZone)]
    [InlineData("10.60.255.255", TrafficClass.CrossZone)]
    [InlineData("10.70.0.0", TrafficClass.CrossRegion)]
    // Two rules match: the first one listed wins, not the narrower one.
    [InlineData("10.50.7.1", TrafficClass.SameZone)]
    // A private address named by an internet rule (a NAT gateway) is internet.
    [InlineData("192.168.100.1", TrafficClass.Internet)]
    [InlineData("10.80.0.1", null)]
    [InlineData("198.18.0.1", null)]
    public void Configured_rules_decide_in_the_order_they_are_listed(string destination, TrafficClass? expected)
    {
        Assert.True(Classifier.HasRules);
        Assert.Equal(expected, Classifier.Rule(IpAddr.Parse(destination)));
    }

    [Theory]
    [InlineData("10.1.2.3", TrafficClass.PrivateExternal)]
    [InlineData("172.31.255.255", TrafficClass.PrivateExternal)]
    [InlineData("100.64.0.1", TrafficClass.PrivateExternal)]
    [InlineData("fd00::1", TrafficClass.PrivateExternal)]
    [InlineData("::ffff:192.168.1.1", TrafficClass.PrivateExternal)]
    [InlineData("172.32.0.1", TrafficClass.Internet)]
    [InlineData("198.18.0.1", TrafficClass.Internet)]
    [InlineData("2001:db8::1", TrafficClass.Internet)]
    public void Outside_the_cluster_private_ranges_are_private_external_and_the_rest_internet(string destination, TrafficClass expected) =>
        Assert.Equal(expected, Classifier.External(IpAddr.Parse(destination)));

    [Fact]
    public void No_rules_configured_means_none_apply()
    {
        var plain = new TrafficClassifier(new NetworkOptions().PublicAddresses(), [(CidrSet.Parse([]), TrafficClass.Internet)]);
        Assert.False(plain.HasRules);
        Assert.Null(plain.Rule(IpAddr.Parse("10.0.0.1")));
    }

    [Theory]
    [InlineData("n1", "z1", "r1", "n1", "z1", "r1", TrafficClass.SameNode)]
    [InlineData("n1", "z1", "r1", "n2", "z1", "r1", TrafficClass.SameZone)]
    [InlineData("n1", "z1", "r1", "n2", "z2", "r1", TrafficClass.CrossZone)]
    [InlineData("n1", "z1", null, "n2", "z2", "r1", TrafficClass.CrossZone)]
    [InlineData("n1", "z1", "r1", "n2", "z2", "r2", TrafficClass.CrossRegion)]
    [InlineData("n1", null, "r1", "n2", "z2", "r1", TrafficClass.Unknown)]
    public void Inside_the_cluster_node_zone_and_region_decide(string? sourceNode, string? sourceZone, string? sourceRegion, string? destinationNode, string? destinationZone, string? destinationRegion, TrafficClass expected) =>
        Assert.Equal(expected, TrafficClassifier.InCluster(
            new FlowEndpoint { Node = sourceNode, Zone = sourceZone, Region = sourceRegion },
            new FlowEndpoint { Node = destinationNode, Zone = destinationZone, Region = destinationRegion }));
}
