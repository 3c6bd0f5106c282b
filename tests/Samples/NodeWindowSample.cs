using Egressd.Contracts;

namespace Egressd.Tests.Samples;

/// <summary>
/// One node's part of a busy 5 s window, as the wire tests and the wire benchmark both size it:
/// 50 pods talking to 2,000 destinations, half in the cluster (a fifth of those through services),
/// half outside with DNS names. Seeded, so every run sees the same flows.
/// </summary>
internal static class NodeWindowSample
{
    public static FlowRow[] Flows(int count)
    {
        var random = new Random(7);
        var pods = Enumerable.Range(0, 50).Select(i => new FlowEndpoint { Pod = $"web-{i}", Namespace = "shop", Node = "node-a", Zone = "zone-a", Region = "region-1", WorkloadKind = "Deployment", WorkloadName = "web" }).ToArray();
        var peers = Enumerable.Range(0, 1000).Select(i => new FlowEndpoint { Pod = $"db-{i}", Namespace = "data", Node = $"node-{i % 40}", Zone = $"zone-{i % 3}", Region = "region-1", WorkloadKind = "StatefulSet", WorkloadName = "db" }).ToArray();
        var flows = new FlowRow[count];
        for (var i = 0; i < count; i++)
        {
            var source = random.Next(pods.Length);
            var peer = random.Next(2000);
            var inCluster = peer < 1000;
            flows[i] = new FlowRow
            {
                Flow = new FlowRecord
                {
                    SourceIp = IpAddr.Parse($"10.244.1.{source + 10}"),
                    DestinationIp = IpAddr.Parse(inCluster ? $"10.244.{2 + (peer / 250)}.{peer % 250}" : $"198.18.{peer / 250}.{peer % 250}"),
                    OriginalDestinationIp = inCluster && peer % 5 == 0 ? IpAddr.Parse($"10.96.0.{peer % 200}") : null,
                    Protocol = peer % 10 == 0 ? 17 : 6,
                    TxBytes = (ulong)random.Next(100, 200_000),
                    RxBytes = (ulong)random.Next(100, 2_000_000),
                    TxPackets = (ulong)random.Next(1, 200),
                    RxPackets = (ulong)random.Next(1, 2000),
                },
                Source = pods[source],
                Destination = inCluster ? peers[peer] : FlowEndpoint.Unknown,
                DestinationService = inCluster && peer % 5 == 0 ? $"data/db-{peer % 200}" : null,
                DestinationDnsName = inCluster ? null : $"host{peer}.example.com",
                TrafficClass = inCluster ? TrafficClass.CrossZone : TrafficClass.Internet,
            };
        }

        return flows;
    }

    /// <summary>The same flows as a batch, with its endpoint table.</summary>
    public static FlowBatchEnriched Batch(int count) => EnrichedRows.Batch(Flows(count));
}
