using System.Diagnostics;
using System.Text.Json;
using Egressd.Contracts;
using Egressd.Shared.Wire;
using Egressd.Tests.Samples;
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

    /// <summary>One node's part of a busy window (<see cref="NodeWindowSample"/>).</summary>
    internal static FlowBatchEnriched Sample(int count)
    {
        var flows = NodeWindowSample.Flows(count);
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
