using System.Collections.Frozen;
using Egressd.Contracts;
using Egressd.Enricher.Cluster;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Network;
using Egressd.Shared.Wire;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;
using static Egressd.Tests.Infrastructure.SampleFlows;

namespace Egressd.Tests.Enricher;

/// <summary>
/// The enrichment function alone, on a cluster snapshot made by hand: every traffic class, services,
/// DNS names, CIDR rules and unknown sources, and a batch off the wire enriched exactly as the same
/// flows handed over as a plain list.
/// </summary>
public sealed class FlowEnricherTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static readonly FlowEndpoint Web = new() { Pod = "web-0", Namespace = "shop", Node = "node-a", Zone = "zone-a", Region = "r1", WorkloadKind = "Deployment", WorkloadName = "web" };
    private static readonly FlowEndpoint Db = new() { Pod = "db-0", Namespace = "shop", Node = "node-b", Zone = "zone-b", Region = "r1", WorkloadKind = "StatefulSet", WorkloadName = "db" };
    private static readonly FlowEndpoint Agent = new() { Pod = "agent-x", Namespace = "ops", Node = "node-c", Zone = "zone-c", Region = "r2", WorkloadKind = "DaemonSet", WorkloadName = "agent" };
    private static readonly FlowEndpoint NodeA = new() { Node = "node-a", Zone = "zone-a", Region = "r1" };

    private static readonly ClusterSnapshot Cluster = new(
        new Dictionary<IpAddr, FlowEndpoint>
        {
            [IpAddr.Parse("10.244.1.10")] = Web,
            [IpAddr.Parse("fd00:10:244:1::a")] = Web,
            [IpAddr.Parse("10.244.2.20")] = Db,
            [IpAddr.Parse("10.244.3.30")] = Agent,
        }.ToFrozenDictionary(),
        new Dictionary<IpAddr, FlowEndpoint> { [IpAddr.Parse("10.0.0.1")] = NodeA }.ToFrozenDictionary(),
        new Dictionary<IpAddr, string> { [IpAddr.Parse("10.96.0.15")] = "shop/db" }.ToFrozenDictionary());

    [Fact]
    public void Enrichment_gives_every_class_service_name_and_rule_and_the_wire_changes_nothing()
    {
        FlowRecord[] flows =
        [
            Flow("10.244.1.10", "10.244.2.20", "10.96.0.15"),
            Flow("10.244.1.10", "10.244.2.20", null),
            Flow("10.244.2.20", "10.244.1.10", null),
            Flow("10.244.1.10", "10.244.3.30", null),
            Flow("10.244.1.10", "198.18.7.9", null),
            Flow("fd00:10:244:1::a", "198.18.7.9", null),
            Flow("10.244.1.10", "172.20.0.9", null),
            Flow("10.244.1.10", "192.0.2.50", null),
            Flow("10.0.0.1", "10.244.2.20", null),
            Flow("10.0.0.1", "10.0.0.1", null),
            Flow("10.9.9.9", "10.244.2.20", null),
            Flow("10.9.9.9", "198.18.7.9", "10.96.0.15"),
            Flow("10.244.2.20", "10.9.9.9", null),
        ];
        DnsAnswer[] answers = [new() { Ip = IpAddr.Parse("198.18.7.9"), Name = "api.example.com", ExpiresAt = T0.AddMinutes(1) }];
        var batch = Batch(flows, answers);
        // A rule for one range: it wins over what the cluster says.
        var classifier = new TrafficClassifier(new NetworkOptions().PublicAddresses(), [(CidrSet.Parse(["192.0.2.0/24"]), TrafficClass.PrivateExternal)]);

        var fromWire = FlowWire.DecodeCollected(FlowWire.Encode(batch));
        var (plainStats, wireStats) = (new EnrichmentStats(), new EnrichmentStats());
        var plain = new FlowEnricher(classifier, 1000, new DnsNameMap(100_000, TestMetrics.Enricher())).Enrich(batch, Cluster, plainStats);
        var wire = new FlowEnricher(classifier, 1000, new DnsNameMap(100_000, TestMetrics.Enricher())).Enrich(fromWire, Cluster, wireStats);

        Assert.Equal(plain.Flows, wire.Flows);
        Assert.Equal(plain.Endpoints, wire.Endpoints);
        // The batch's endpoint table holds each end the cluster state handed out once, and every flow's ends come from it.
        Assert.Equal(wire.Endpoints.Count, wire.Endpoints.Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.Equal((plainStats.SourceUnknown, plainStats.SourceHostNetwork), (wireStats.SourceUnknown, wireStats.SourceHostNetwork));
        Assert.Equal(plainStats.Classes, wireStats.Classes);

        // What each flow should be, written out; an address in several flows counts in each.
        var f = EnrichedRows.Rows(wire);
        Assert.Equal(("shop/db", TrafficClass.CrossZone), (f[0].DestinationService, f[0].TrafficClass));
        Assert.Equal((null, TrafficClass.CrossZone), (f[1].DestinationService, f[1].TrafficClass));
        Assert.Equal(TrafficClass.CrossZone, f[2].TrafficClass);
        Assert.Equal(TrafficClass.CrossRegion, f[3].TrafficClass);
        Assert.Equal((TrafficClass.Internet, "api.example.com"), (f[4].TrafficClass, f[4].DestinationDnsName));
        Assert.Same(Web, f[5].Source);
        Assert.Equal(TrafficClass.PrivateExternal, f[6].TrafficClass);
        Assert.Equal((TrafficClass.PrivateExternal, null), (f[7].TrafficClass, f[7].DestinationDnsName));
        Assert.Equal((NodeA, TrafficClass.CrossZone), (f[8].Source, f[8].TrafficClass));
        Assert.Equal(TrafficClass.SameNode, f[9].TrafficClass);
        Assert.Equal((FlowEndpoint.Unknown, TrafficClass.Unknown), (f[10].Source, f[10].TrafficClass));
        Assert.Equal(("shop/db", TrafficClass.Internet), (f[11].DestinationService, f[11].TrafficClass));
        Assert.Equal((FlowEndpoint.Unknown, TrafficClass.PrivateExternal), (f[12].Destination, f[12].TrafficClass));
        Assert.Equal((2, 2), (wireStats.SourceUnknown, wireStats.SourceHostNetwork));
        Assert.Equal(4, wireStats.Classes[(int)TrafficClass.CrossZone]);
    }

    [Fact]
    public void A_flow_with_a_protocol_outside_0_to_255_refuses_its_batch()
    {
        var batch = Batch([Flow("10.244.1.10", "10.244.2.20", null), Flow("10.244.1.10", "10.244.2.20", null) with { Protocol = 256 }], []);

        var refused = Assert.Throws<InvalidBatchException>(() => new FlowEnricher(new TrafficClassifier(new NetworkOptions().PublicAddresses(), []), 1000, new DnsNameMap(100_000, TestMetrics.Enricher())).Enrich(batch, Cluster, new EnrichmentStats()));
        Assert.Contains("flow 1: protocol 256", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_node_address_flow_the_collector_attributed_is_the_hostnetwork_pods_or_the_nodes_unit_and_survives_the_wire()
    {
        var exporter = new FlowEndpoint { Pod = "node-exporter-x7k2p", Namespace = "monitoring", Node = "node-a", Zone = "zone-a", Region = "r1", WorkloadKind = "DaemonSet", WorkloadName = "node-exporter" };
        var cluster = new ClusterSnapshot(
            Cluster.Pods, Cluster.Nodes, Cluster.Services,
            new Dictionary<string, FlowEndpoint> { ["monitoring/node-exporter-x7k2p"] = exporter }.ToFrozenDictionary());
        var batch = Batch(
        [
            Flow("10.0.0.1", "198.18.7.9", null) with { SourcePod = "monitoring/node-exporter-x7k2p" },
            Flow("10.0.0.1", "198.18.7.9", null) with { SourceUnit = "kubelet.service" },
            Flow("10.0.0.1", "198.18.7.9", null),
            // A pod the enricher does not know (yet): the node, not a guess.
            Flow("10.0.0.1", "198.18.7.9", null) with { SourcePod = "monitoring/gone" },
        ], []);
        var enricher = new FlowEnricher(new TrafficClassifier(new NetworkOptions().PublicAddresses(), []), 1000, new DnsNameMap(100_000, TestMetrics.Enricher()));
        var stats = new EnrichmentStats();

        var enriched = enricher.Enrich(FlowWire.DecodeCollected(FlowWire.Encode(batch)), cluster, stats);
        var back = FlowWire.DecodeEnriched(FlowWire.Encode(enriched));

        Assert.Equal(exporter, back.SourceOf(0));
        Assert.Equal(NodeA with { WorkloadKind = FlowEnricher.SystemdUnitKind, WorkloadName = "kubelet.service" }, back.SourceOf(1));
        Assert.Equal(NodeA, back.SourceOf(2));
        Assert.Equal(NodeA, back.SourceOf(3));
        Assert.Equal((1, 3), (stats.SourceHostNetworkPod, stats.SourceHostNetwork));
        Assert.Equal(("monitoring/node-exporter-x7k2p", "kubelet.service"), (back.Flows[0].Flow.SourcePod, back.Flows[1].Flow.SourceUnit));
    }

    private static FlowBatchCollected Batch(FlowRecord[] flows, DnsAnswer[] answers) => new()
    {
        Header = new BatchHeader
        {
            Id = new BatchId { Node = "node-a", BootId = "b", Window = 1, Part = 0, PartCount = 1 },
            Node = "node-a",
            WindowStart = T0,
            WindowEnd = T0.AddSeconds(5),
            Source = FlowSource.Netfilter,
        },
        Flows = flows,
        DnsAnswers = answers,
    };
}
