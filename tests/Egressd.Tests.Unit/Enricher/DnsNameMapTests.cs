using Egressd.Contracts;
using Egressd.Enricher.Cluster;
using Egressd.Enricher.Enrichment;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Enricher;

/// <summary>The enricher's one address-to-name map, fed by every collector's batches.</summary>
public sealed class DnsNameMapTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    [Fact]
    public void A_name_seen_on_one_node_names_the_address_in_another_nodes_flows()
    {
        var enricher = new FlowEnricher(new TrafficClassifier(new Shared.Network.NetworkOptions().PublicAddresses(), []), 1000, new DnsNameMap(100, TestMetrics.Enricher()));
        var cluster = new ClusterState(TimeProvider.System, TimeSpan.FromMinutes(2)).Snapshot();

        // Node a saw the answer (in a window with no flows); node b's pod uses the address.
        enricher.RecordAnswers(Batch("node-a", T0, [], [new DnsAnswer { Ip = IpAddr.Parse("198.18.7.20"), Name = "api.example.com", ExpiresAt = T0.AddSeconds(30) }]));
        var b = enricher.Enrich(Batch("node-b", T0.AddSeconds(5), ["198.18.7.20", "198.18.7.21"], []), cluster, new EnrichmentStats());
        Assert.Equal("api.example.com", b.Flows[0].DestinationDnsName);
        Assert.Null(b.Flows[1].DestinationDnsName);

        // A window that starts after the answer ran out is not named by it.
        var late = enricher.Enrich(Batch("node-b", T0.AddSeconds(31), ["198.18.7.20"], []), cluster, new EnrichmentStats());
        Assert.Null(late.Flows[0].DestinationDnsName);

        // A refresh from any node names it again.
        enricher.Enrich(Batch("node-c", T0.AddSeconds(40), ["198.18.7.21"], [new DnsAnswer { Ip = IpAddr.Parse("198.18.7.20"), Name = "api.example.com", ExpiresAt = T0.AddSeconds(100) }]), cluster, new EnrichmentStats());
        var refreshed = enricher.Enrich(Batch("node-b", T0.AddSeconds(60), ["198.18.7.20"], []), cluster, new EnrichmentStats());
        Assert.Equal("api.example.com", refreshed.Flows[0].DestinationDnsName);
    }

    [Fact]
    public void The_longer_lived_answer_wins()
    {
        var map = new DnsNameMap(10, TestMetrics.Enricher());
        map.Record([new DnsAnswer { Ip = IpAddr.Parse("192.0.2.1"), Name = "new.test", ExpiresAt = T0.AddMinutes(5) }]);
        map.Record([new DnsAnswer { Ip = IpAddr.Parse("192.0.2.1"), Name = "old.test", ExpiresAt = T0.AddMinutes(1) }]);
        Assert.Equal("new.test", map.NameOf(IpAddr.Parse("192.0.2.1"), T0));
    }

    [Fact]
    public void The_map_stays_within_its_bound_under_100000_distinct_answers()
    {
        var map = new DnsNameMap(10_000, TestMetrics.Enricher());
        for (var i = 0; i < 100_000; i += 100)
        {
            map.Record([.. Enumerable.Range(i, 100).Select(n => new DnsAnswer { Ip = IpAddr.Parse($"10.{n >> 16}.{(n >> 8) & 0xFF}.{n & 0xFF}"), Name = $"h{n}.test", ExpiresAt = T0.AddHours(1) })]);
            Assert.True(map.Count <= 10_000);
        }

        Assert.Equal(10_000, map.Count);
        Assert.Null(map.NameOf(IpAddr.Parse("10.0.0.0"), T0));
        Assert.Equal("h99999.test", map.NameOf(IpAddr.Parse("10.1.134.159"), T0));
    }

    [Fact]
    public void A_lookup_keeps_an_address_from_being_evicted_first()
    {
        var map = new DnsNameMap(2, TestMetrics.Enricher());
        map.Record([new DnsAnswer { Ip = IpAddr.Parse("192.0.2.1"), Name = "one.test", ExpiresAt = T0.AddHours(1) }]);
        map.Record([new DnsAnswer { Ip = IpAddr.Parse("192.0.2.2"), Name = "two.test", ExpiresAt = T0.AddHours(1) }]);
        Assert.Equal("one.test", map.NameOf(IpAddr.Parse("192.0.2.1"), T0));
        map.Record([new DnsAnswer { Ip = IpAddr.Parse("192.0.2.3"), Name = "three.test", ExpiresAt = T0.AddHours(1) }]);
        Assert.Equal("one.test", map.NameOf(IpAddr.Parse("192.0.2.1"), T0));
        Assert.Null(map.NameOf(IpAddr.Parse("192.0.2.2"), T0));
    }

    private static FlowBatchCollected Batch(string node, DateTimeOffset start, string[] destinations, DnsAnswer[] answers) => new()
    {
        Header = new BatchHeader
        {
            Id = new BatchId { Node = node, BootId = "b", Window = start.ToUnixTimeSeconds(), Part = 0, PartCount = 1 },
            Node = node,
            WindowStart = start,
            WindowEnd = start.AddSeconds(5),
            Source = FlowSource.Netfilter,
        },
        Flows = [.. destinations.Select(d => new FlowRecord { SourceIp = IpAddr.Parse("10.244.1.10"), DestinationIp = IpAddr.Parse(d), Protocol = 6, TxBytes = 10, RxBytes = 20, TxPackets = 1, RxPackets = 1 })],
        DnsAnswers = answers,
    };
}
