using Egressd.Contracts;
using Egressd.Shared.Cost;

namespace Egressd.Tests.Cost;

public sealed class NodePlacementResolverTests
{
    [Theory]
    [InlineData("aws:///us-east-1a/i-0123456789abcdef0", CloudProvider.Aws, "us-east-1a")]
    [InlineData("AWS:///eu-west-1c/i-0abc", CloudProvider.Aws, "eu-west-1c")]
    [InlineData("gce://my-project/us-central1-b/gke-pool-1-abcd", CloudProvider.Gcp, "us-central1-b")]
    [InlineData("azure:///subscriptions/0000/resourceGroups/mc_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-pool/virtualMachines/0", CloudProvider.Azure, null)]
    [InlineData("kind://docker/kind/kind-control-plane", CloudProvider.Unknown, null)]
    [InlineData("k3s://node-1", CloudProvider.Unknown, null)]
    [InlineData("", CloudProvider.Unknown, null)]
    [InlineData(null, CloudProvider.Unknown, null)]
    public void The_provider_comes_from_the_provider_id(string? providerId, CloudProvider provider, string? zone)
    {
        Assert.Equal(provider, ProviderIds.Provider(providerId));
        Assert.Equal(zone, ProviderIds.Zone(providerId));
    }

    [Fact]
    public void Region_and_zone_come_from_the_topology_labels_first()
    {
        var resolver = new NodePlacementResolver(new CostOptions { Region = "fallback-region" });
        var labelled = resolver.Resolve("aws:///us-east-1a/i-0abc", new Dictionary<string, string>
        {
            ["topology.kubernetes.io/region"] = "us-east-1",
            ["topology.kubernetes.io/zone"] = "us-east-1f",
        }, ["203.0.113.7"], null);
        var legacy = resolver.Resolve(null, new Dictionary<string, string>
        {
            ["failure-domain.beta.kubernetes.io/region"] = "eu-west-1",
            ["failure-domain.beta.kubernetes.io/zone"] = "eu-west-1b",
        }, ["203.0.113.7"], null);
        var bare = resolver.Resolve("gce://p/us-central1-a/n", null, ["203.0.113.7"], null);

        Assert.Equal(new NodePlacement { Provider = CloudProvider.Aws, Region = "us-east-1", Zone = "us-east-1f" }, labelled);
        Assert.Equal(new NodePlacement { Provider = CloudProvider.Unknown, Region = "eu-west-1", Zone = "eu-west-1b" }, legacy);
        Assert.Equal(new NodePlacement { Provider = CloudProvider.Gcp, Region = "fallback-region", Zone = "us-central1-a" }, bare);
    }

    [Theory]
    [InlineData(CloudProviderSetting.Aws, CloudProvider.Aws)]
    [InlineData(CloudProviderSetting.Gcp, CloudProvider.Gcp)]
    [InlineData(CloudProviderSetting.Azure, CloudProvider.Azure)]
    [InlineData(CloudProviderSetting.None, CloudProvider.Unknown)]
    public void The_cluster_wide_provider_wins_over_the_provider_id(CloudProviderSetting setting, CloudProvider provider)
    {
        var node = new NodePlacementResolver(new CostOptions { Provider = setting }).Resolve("kind://docker/kind/n", null, null, [IpAddr.Parse("10.0.0.1")]);
        Assert.Equal(provider, node.Provider);
    }
}
