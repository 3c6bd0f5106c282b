using Egressd.Contracts;
using Egressd.Enricher.Cluster;
using Egressd.Enricher.Enrichment;
using Egressd.Shared.Cost;
using Egressd.Shared.Network;
using Egressd.Shared.Wire;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace Egressd.Tests.Enricher;

/// <summary>
/// The enricher prices each flow for its source pod from what the API says of both ends' nodes
/// (provider id, zone labels, external addresses), through the real KubernetesClient against the
/// fake API server, and the enriched wire carries the price unchanged.
/// </summary>
public sealed class FlowCostEnrichmentTests : IAsyncLifetime
{
    // AWS list prices in pico-dollars per byte: $0.01/GB = 10, $0.09/GB = 90, $0.045/GB = 45 (docs/COST.md).
    private const long CrossZone = 10;
    private const long Internet = 90;
    private const long Nat = 45;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource stop = new();
    private FakeKubernetesApi api = null!;
    private Task running = Task.CompletedTask;
    private ClusterState state = null!;

    public async ValueTask InitializeAsync()
    {
        api = await FakeKubernetesApi.StartAsync();
        // node-a has no public address (its internet traffic goes through NAT); node-b has one.
        api.Apply(FakeKubernetesApi.Node("node-a", "us-east-1a", "us-east-1", "10.0.0.1", providerId: "aws:///us-east-1a/i-0aaa"));
        api.Apply(FakeKubernetesApi.Node("node-b", "us-east-1b", "us-east-1", "10.0.0.2", providerId: "aws:///us-east-1b/i-0bbb", externalIp: "203.0.113.2"));
        api.Apply(FakeKubernetesApi.Pod("shop", "web-0", "node-a", ["10.244.1.10"], "StatefulSet", "web"));
        api.Apply(FakeKubernetesApi.Pod("shop", "db-0", "node-b", ["10.244.2.20"], "StatefulSet", "db"));
        state = await ClusterCacheTests.StartAsync(api, new FakeTimeProvider(DateTimeOffset.UtcNow), t => running = t, stop.Token, new NodePlacementResolver(new CostOptions()));
    }

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
        await api.DisposeAsync();
        stop.Dispose();
    }

    [Fact]
    public void Nodes_are_placed_from_their_provider_id_labels_and_external_addresses()
    {
        var cluster = state.Snapshot();
        Assert.Equal(new NodePlacement { Provider = CloudProvider.Aws, Region = "us-east-1", Zone = "us-east-1a", BehindNat = true }, cluster.Placements["node-a"]);
        Assert.Equal(new NodePlacement { Provider = CloudProvider.Aws, Region = "us-east-1", Zone = "us-east-1b", BehindNat = false }, cluster.Placements["node-b"]);
    }

    [Fact]
    public void Each_side_pays_its_own_share_and_internet_behind_nat_pays_processing_both_ways()
    {
        var enriched = Enrich(new PriceModel(new CostOptions()),
            ("node-a", "10.244.1.10", "10.244.2.20", 1_000, 3_000),
            ("node-b", "10.244.2.20", "10.244.1.10", 3_000, 1_000),
            ("node-a", "10.244.1.10", "198.18.7.9", 500, 7_000),
            ("node-b", "10.244.2.20", "198.18.7.9", 500, 7_000));

        Assert.Equal(new FlowCharges { Egress = 1_000 * CrossZone, Ingress = 3_000 * CrossZone }, enriched[0].Cost);
        Assert.Equal(new FlowCharges { Egress = 3_000 * CrossZone, Ingress = 1_000 * CrossZone }, enriched[1].Cost);
        // Together: every byte once out of one zone and once into the other, $0.02/GB as AWS bills it.
        Assert.Equal(4_000 * 2 * CrossZone, enriched[0].Cost.Total + enriched[1].Cost.Total);
        Assert.Equal(new FlowCharges { Egress = 500 * Internet, Nat = 7_500 * Nat }, enriched[2].Cost);
        Assert.Equal(new FlowCharges { Egress = 500 * Internet }, enriched[3].Cost);
    }

    [Fact]
    public void A_free_destination_costs_nothing_and_cost_off_prices_nothing()
    {
        var free = new CostOptions { Destinations = [new CostDestinationOptions { Cidrs = ["198.18.7.0/24"], Price = "free" }] };
        Assert.Equal(default, Enrich(new PriceModel(free), ("node-a", "10.244.1.10", "198.18.7.9", 500, 7_000))[0].Cost);
        Assert.Equal(default, Enrich(new PriceModel(new CostOptions { Enabled = false }), ("node-a", "10.244.1.10", "10.244.2.20", 1_000, 3_000))[0].Cost);
    }

    [Fact]
    public void The_enriched_wire_carries_each_charge_and_leaves_the_columns_out_when_nothing_costs()
    {
        var priced = Enrich(new PriceModel(new CostOptions()), ("node-a", "10.244.1.10", "198.18.7.9", 500, 7_000), ("node-a", "10.244.1.10", "10.244.2.20", 1_000, 3_000));
        var batch = new FlowBatchEnriched { Header = Header("node-a"), Endpoints = [FlowEndpoint.Unknown], Flows = [.. priced.Select(f => f with { SourceEndpoint = 0, DestinationEndpoint = 0 })] };
        var decoded = FlowWire.DecodeEnriched(FlowWire.Encode(batch));
        Assert.Equal(priced.Select(f => f.Cost), decoded.Flows.Select(f => f.Cost));

        var free = batch with { Flows = [.. batch.Flows.Select(f => f with { Cost = default })] };
        var withoutCost = FlowWire.Encode(free);
        var columns = Shared.Wire.V2.FlowBatchEnriched.Parser.ParseFrom(withoutCost);
        Assert.Equal((0, 0, 0), (columns.CostEgress.Count, columns.CostIngress.Count, columns.CostNat.Count));
        Assert.All(FlowWire.DecodeEnriched(withoutCost).Flows, f => Assert.True(f.Cost.IsZero));
    }

    private EnrichedFlow[] Enrich(PriceModel prices, params (string Node, string Src, string Dst, ulong Tx, ulong Rx)[] flows)
    {
        var enricher = new FlowEnricher(new TrafficClassifier(new NetworkOptions().PublicAddresses(), []), 1000, new DnsNameMap(1000, TestMetrics.Enricher()), prices);
        return [.. flows.Select(f => enricher.Enrich(new FlowBatchCollected
        {
            Header = Header(f.Node),
            Flows = [new FlowRecord { SourceIp = IpAddr.Parse(f.Src), DestinationIp = IpAddr.Parse(f.Dst), Protocol = 6, TxBytes = f.Tx, RxBytes = f.Rx, TxPackets = 1, RxPackets = 1 }],
            DnsAnswers = [],
        }, state.Snapshot(), new EnrichmentStats()).Flows[0])];
    }

    private static BatchHeader Header(string node) => new()
    {
        Id = new BatchId { Node = node, BootId = "b", Window = 1, Part = 0, PartCount = 1 },
        Node = node,
        WindowStart = DateTimeOffset.UnixEpoch,
        WindowEnd = DateTimeOffset.UnixEpoch.AddSeconds(5),
        Source = FlowSource.Netfilter,
    };
}
