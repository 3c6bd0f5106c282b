using System.Text;
using System.Text.Json;
using Egressd.Contracts;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Exporter.Sinks.Http;
using Egressd.Exporter.Sinks.Http.Protobuf;
using Egressd.Shared.Network;
using Google.Protobuf;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>Each flow's cost on its flow-log line, in the webhook's JSON, and in the protobuf as fields egressd's receivers skip.</summary>
public sealed class CostOutputTests
{
    private static readonly FlowBatchEnriched Sample = Batch("node-a", "boot", 7,
        PodFlow("shop", "web-1", "db", "db-0", txBytes: 1_000, rxBytes: 3_000) with { Cost = new FlowCharges { Egress = 10_000, Ingress = 30_000 } },
        PodFlow("shop", "web-1", "", "", txBytes: 500, rxBytes: 7_000, destinationIp: "198.18.0.9", trafficClass: TrafficClass.Internet) with { Cost = new FlowCharges { Egress = 45_000, Nat = 337_500 } },
        PodFlow("shop", "web-1", "shop", "web-2", txBytes: 5, trafficClass: TrafficClass.SameZone));

    [Fact]
    public void Flow_log_lines_carry_each_charge_in_dollars_and_free_flows_none()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        FlowLogLines.Write(buffer, Sample);
        var lines = Encoding.UTF8.GetString(buffer.WrittenSpan).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToArray();

        Assert.Equal((0.00000001m, 0.00000003m, 0m), Costs(lines[0]));
        Assert.Equal((0.000000045m, 0m, 0.0000003375m), Costs(lines[1]));
        Assert.False(lines[2].TryGetProperty("cost_egress_usd", out _));
        // Exact decimal digits: the lines add up to the pico-dollars the wire carried.
        Assert.Equal(Sample.Flows.Sum(f => f.Cost.Total) / (decimal)FlowCharges.PicodollarsPerDollar, lines.Where(l => l.TryGetProperty("cost_egress_usd", out _)).Sum(l => Costs(l).Egress + Costs(l).Ingress + Costs(l).Nat));
    }

    [Fact]
    public void The_webhooks_json_objects_carry_the_same_costs_as_the_log()
    {
        var encoder = new HttpSinkEncoder(HttpSinkEncoding.Json, gzip: false, new NetworkOptions().PublicAddresses());
        var body = encoder.Encode([new BatchSlice(Sample, 0, 3)], out _, out _);
        var flows = JsonDocument.Parse(body).RootElement.GetProperty("flows").EnumerateArray().ToArray();
        Assert.Equal((0.00000001m, 0.00000003m, 0m), Costs(flows[0]));
        Assert.Equal((0.000000045m, 0m, 0.0000003375m), Costs(flows[1]));
    }

    [Fact]
    public void Protobuf_carries_the_cost_in_new_fields_and_egressds_schema_reads_the_rest_unchanged()
    {
        var encoder = new HttpSinkEncoder(HttpSinkEncoding.Protobuf, gzip: false, new NetworkOptions().PublicAddresses());
        var body = encoder.Encode([new BatchSlice(Sample, 0, 3)], out _, out _).ToArray();

        var ours = PodNetworkMetricBatch.Parser.ParseFrom(body);
        Assert.Equal([(10_000UL, 30_000UL, 0UL), (45_000UL, 0UL, 337_500UL), (0UL, 0UL, 0UL)], ours.Items.Select(m => (m.CostEgressPicodollars, m.CostIngressPicodollars, m.CostNatPicodollars)));

        // egressd's own schema skips the fields it does not know and reads every field it knows as it
        // was; a batch that cost nothing is byte for byte the body from before cost existed.
        var free = Sample with { Flows = [.. Sample.Flows.Select(f => f with { Cost = default })] };
        var freeBody = encoder.Encode([new BatchSlice(free, 0, 3)], out _, out _).ToArray();
        var theirs = EgressdPb.PodNetworkMetricBatch.Parser.ParseFrom(body);
        var theirsFree = EgressdPb.PodNetworkMetricBatch.Parser.ParseFrom(freeBody);
        Assert.Equal(JsonFormatter.Default.Format(theirsFree), JsonFormatter.Default.Format(theirs));
        Assert.Equal(freeBody, theirsFree.ToByteArray());
    }

    private static (decimal Egress, decimal Ingress, decimal Nat) Costs(JsonElement line) =>
        (line.GetProperty("cost_egress_usd").GetDecimal(), line.GetProperty("cost_ingress_usd").GetDecimal(), line.GetProperty("cost_nat_usd").GetDecimal());
}
