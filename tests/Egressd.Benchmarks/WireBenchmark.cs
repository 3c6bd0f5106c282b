using System.Diagnostics;
using Egressd.Contracts;
using Egressd.Shared.Wire;
using Egressd.Tests.Samples;

namespace Egressd.Benchmarks;

/// <summary>Wire v2: bytes per flow, and encode and decode per flow on one core.</summary>
internal static class WireBenchmark
{
    public static int Run(string[] args)
    {
        _ = args;
        var enriched = Sample(5000);
        var collected = new FlowBatchCollected
        {
            Header = enriched.Header,
            Flows = [.. enriched.Flows.Select(f => f.Flow)],
            DnsAnswers = [],
        };
        Console.WriteLine("| 5,000 flows a batch, one core | bytes/flow | encode ns/flow | decode ns/flow |");
        Console.WriteLine("|---|---|---|---|");
        Row("collected, wire v2", () => FlowWire.Encode(collected), b => FlowWire.DecodeCollected(b));
        Row("enriched, wire v2", () => FlowWire.Encode(enriched), b => FlowWire.DecodeEnriched(b));
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

    /// <summary>One node's part of a busy window (<see cref="NodeWindowSample"/>).</summary>
    internal static FlowBatchEnriched Sample(int count) => EnrichedRows.Batch(NodeWindowSample.Flows(count), new BatchHeader
    {
        Id = new BatchId { Node = "node-a", BootId = "bench", Window = 1, Part = 0, PartCount = 1 },
        Node = "node-a",
        WindowStart = DateTimeOffset.UnixEpoch,
        WindowEnd = DateTimeOffset.UnixEpoch.AddSeconds(5),
        Source = FlowSource.Netfilter,
    });
}
