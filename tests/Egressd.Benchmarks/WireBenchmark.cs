using System.Diagnostics;
using System.Text.Json;
using Egressd.Contracts;
using Egressd.Shared.Wire;
using MassTransit.Serialization;

namespace Egressd.Benchmarks;

/// <summary>Wire v2 against the first release's JSON: bytes per flow, and encode and decode per flow on one core.</summary>
internal static class WireBenchmark
{
    public static int Run(string[] args)
    {
        _ = args;
        var enriched = Sample(5000);
        var collected = new FlowBatchCollected
        {
            Id = enriched.Id,
            Node = enriched.Node,
            WindowStart = enriched.WindowStart,
            WindowEnd = enriched.WindowEnd,
            Source = enriched.Source,
            Flows = [.. enriched.Flows.Select(f => f.Flow)],
            DnsAnswers = [],
        };
        var options = SystemTextJsonMessageSerializer.Options;
        Console.WriteLine("| 5,000 flows a batch, one core | bytes/flow | encode ns/flow | decode ns/flow |");
        Console.WriteLine("|---|---|---|---|");
        Row("collected, wire v2", () => FlowWire.Encode(collected), b => FlowWire.DecodeCollected(b));
        Row("collected, JSON (first release)", () => JsonSerializer.SerializeToUtf8Bytes(collected, options), b => JsonSerializer.Deserialize<FlowBatchCollected>(b, options));
        Row("enriched, wire v2", () => FlowWire.Encode(enriched), b => FlowWire.DecodeEnriched(b));
        Row("enriched, JSON (first release)", () => JsonSerializer.SerializeToUtf8Bytes(enriched, options), b => JsonSerializer.Deserialize<FlowBatchEnriched>(b, options));
        return 0;
    }

    private static void Row(string name, Func<byte[]> encode, Func<byte[], object?> decode)
    {
        var body = encode();
        for (var i = 0; i < 200; i++)
        {
            decode(encode());
        }

        var rounds = 300;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < rounds; i++)
        {
            encode();
        }

        var encodeNs = watch.Elapsed.TotalNanoseconds / rounds / 5000;
        watch.Restart();
        for (var i = 0; i < rounds; i++)
        {
            decode(body);
        }

        var decodeNs = watch.Elapsed.TotalNanoseconds / rounds / 5000;
        Console.WriteLine($"| {name} | {body.Length / 5000.0:F1} | {encodeNs:F0} | {decodeNs:F0} |");
    }

    /// <summary>One node's part: 50 pods to 2,000 destinations, half in the cluster (a fifth through services), half outside with names.</summary>
    internal static FlowBatchEnriched Sample(int count)
    {
        var random = new Random(7);
        var pods = Enumerable.Range(0, 50).Select(i => new FlowEndpoint { Pod = $"web-{i}", Namespace = "shop", Node = "node-a", Zone = "zone-a", Region = "region-1", WorkloadKind = "Deployment", WorkloadName = "web" }).ToArray();
        var peers = Enumerable.Range(0, 1000).Select(i => new FlowEndpoint { Pod = $"db-{i}", Namespace = "data", Node = $"node-{i % 40}", Zone = $"zone-{i % 3}", Region = "region-1", WorkloadKind = "StatefulSet", WorkloadName = "db" }).ToArray();
        var flows = new EnrichedFlow[count];
        for (var i = 0; i < count; i++)
        {
            var source = random.Next(pods.Length);
            var peer = random.Next(2000);
            var inCluster = peer < 1000;
            flows[i] = new EnrichedFlow
            {
                Flow = new FlowRecord
                {
                    SourceIp = IpAddr.FromV4((uint)((10 << 24) | (244 << 16) | (1 << 8) | (source + 10))),
                    DestinationIp = IpAddr.FromV4(inCluster ? (uint)((10 << 24) | (244 << 16) | ((2 + (peer / 250)) << 8) | (peer % 250)) : (uint)((198 << 24) | (18 << 16) | ((peer / 250) << 8) | (peer % 250))),
                    OriginalDestinationIp = inCluster && peer % 5 == 0 ? IpAddr.FromV4((uint)((10 << 24) | (96 << 16) | (peer % 200))) : null,
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

        return new FlowBatchEnriched
        {
            Id = new BatchId { Node = "node-a", BootId = "bench", Window = 1, Part = 0, PartCount = 1 },
            Node = "node-a",
            WindowStart = DateTimeOffset.UnixEpoch,
            WindowEnd = DateTimeOffset.UnixEpoch.AddSeconds(5),
            Source = FlowSource.Netfilter,
            Flows = flows,
        };
    }
}
