using System.Buffers;
using System.Text;
using System.Text.Json;
using Egressd.Contracts;
using Egressd.Exporter.Sinks.FlowLog;
using Egressd.Tests.Samples;

namespace Egressd.Tests.Exporter;

/// <summary>
/// Flow-log lines are assembled from pieces escaped once per batch; they must be the very bytes
/// a <see cref="Utf8JsonWriter"/> writes for the same object, key by key, whatever the names hold.
/// </summary>
public sealed class FlowLogLinesTests
{
    [Fact]
    public void Lines_are_the_bytes_Utf8JsonWriter_writes_for_every_kind_of_value()
    {
        var odd = new FlowEndpoint { Pod = "a\"b\\c\nd\te\u0001", Namespace = "ünïcödé-名前", Node = "<node>&'+", Zone = "", Region = null, WorkloadKind = "Job", WorkloadName = "x/y" };
        var ascii = new string([.. Enumerable.Range(0, 128).Select(c => (char)c)]);
        var everyAscii = new FlowEndpoint { Pod = ascii, Namespace = ascii[32..], Node = "\u007f", Zone = "emoji \U0001F600", Region = "\u2028\u00a0" };
        var plain = new FlowEndpoint { Pod = "web-1", Namespace = "shop", Node = "node-a", Zone = "zone-a", Region = "region-1", WorkloadKind = "Deployment", WorkloadName = "web" };
        FlowRow[] flows =
        [
            Flow("10.0.0.1", "10.0.0.2", null, 6, plain, odd, "shop/db", null, TrafficClass.SameZone),
            Flow("fd00::1", "2001:db8::ff00:42:8329", "fd00::a", 17, odd, FlowEndpoint.Unknown, null, "host.example.com", TrafficClass.Internet) with
            {
                Flow = Record("fd00::1", "2001:db8::ff00:42:8329", "fd00::a", 17) with { TxBytes = ulong.MaxValue, RxPackets = 0 },
            },
            Flow("10.0.0.1", "198.18.0.1", "10.96.0.1", 1, plain, plain, "", "quo\"te", TrafficClass.PrivateExternal),
            Flow("0.0.0.0", "255.255.255.255", null, 0, FlowEndpoint.Unknown, FlowEndpoint.Unknown, null, null, TrafficClass.Unknown),
            Flow("10.0.0.3", "10.0.0.4", null, -1, everyAscii, everyAscii, ascii, ascii[32..], TrafficClass.CrossRegion),
        ];
        foreach (var directions in new[] { FlowCounterDirections.Separate, FlowCounterDirections.Combined })
        {
            var batch = EnrichedRows.Batch(flows, new BatchHeader
            {
                Id = new BatchId { Node = "node \"a\"", BootId = "b00t", Window = 42, Part = 1, PartCount = 3 },
                Node = "node \"a\"",
                WindowStart = new DateTimeOffset(2026, 11, 28, 2, 0, 0, TimeSpan.Zero).AddTicks(1234),
                WindowEnd = new DateTimeOffset(2026, 11, 28, 2, 0, 5, TimeSpan.Zero),
                Source = FlowSource.Cilium,
                CounterDirections = directions,
            });

            var written = new ArrayBufferWriter<byte>();
            FlowLogLines.Write(written, batch);

            Assert.Equal(Reference(batch), Encoding.UTF8.GetString(written.WrittenSpan));
        }
    }

    [Fact]
    public void A_slice_of_a_batch_keeps_each_line_s_place_in_the_whole_batch()
    {
        var batch = FlowLogSinkTests.Batch(3, 5);
        var written = new ArrayBufferWriter<byte>();
        FlowLogLines.Write(written, batch, 2, 2);

        var lines = Encoding.UTF8.GetString(written.WrittenSpan).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([3, 4], lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("batch_line").GetInt32()));
        Assert.Equal(Reference(batch).Split('\n')[2..4], lines);
    }

    /// <summary>The line as a plain <see cref="Utf8JsonWriter"/> writes it, key by key.</summary>
    private static string Reference(FlowBatchEnriched batch)
    {
        var text = new StringBuilder();
        var rows = EnrichedRows.Rows(batch);
        for (var i = 0; i < rows.Length; i++)
        {
            var enriched = rows[i];
            var flow = enriched.Flow;
            var buffer = new ArrayBufferWriter<byte>();
            using (var json = new Utf8JsonWriter(buffer, FlowLogLines.Options))
            {
                json.WriteStartObject();
                json.WriteString("batch_id", batch.Header.Id.ToString());
                json.WriteNumber("batch_line", i + 1);
                json.WriteNumber("batch_lines", batch.Flows.Count);
                json.WriteString("node", batch.Header.Node);
                json.WriteString("window_start", batch.Header.WindowStart);
                json.WriteString("window_end", batch.Header.WindowEnd);
                json.WriteString("source_kind", batch.Header.Source == FlowSource.Cilium ? "cilium" : batch.Header.Source.ToString().ToLowerInvariant());
                if (batch.Header.CounterDirections == FlowCounterDirections.Combined)
                {
                    json.WriteString("counter_directions", "combined");
                }

                json.WriteString("src_ip", flow.SourceIp.ToString());
                json.WriteString("dst_ip", flow.DestinationIp.ToString());
                if (flow.OriginalDestinationIp is { } original)
                {
                    json.WriteString("original_dst_ip", original.ToString());
                }

                json.WriteNumber("protocol", flow.Protocol);
                json.WriteNumber("tx_bytes", flow.TxBytes);
                json.WriteNumber("rx_bytes", flow.RxBytes);
                json.WriteNumber("tx_packets", flow.TxPackets);
                json.WriteNumber("rx_packets", flow.RxPackets);
                json.WriteString("traffic_class", enriched.TrafficClass.Name());
                Endpoint(json, "src", enriched.Source);
                Endpoint(json, "dst", enriched.Destination);
                if (enriched.DestinationService is { } service)
                {
                    json.WriteString("dst_service", service);
                }

                if (enriched.DestinationDnsName is { } name)
                {
                    json.WriteString("dst_dns_name", name);
                }

                json.WriteEndObject();
            }

            text.Append(Encoding.UTF8.GetString(buffer.WrittenSpan)).Append('\n');
        }

        return text.ToString();
    }

    private static void Endpoint(Utf8JsonWriter json, string prefix, FlowEndpoint endpoint)
    {
        foreach (var (key, value) in new[]
                 {
                     ("pod", endpoint.Pod), ("namespace", endpoint.Namespace), ("node", endpoint.Node), ("zone", endpoint.Zone),
                     ("region", endpoint.Region), ("workload_kind", endpoint.WorkloadKind), ("workload_name", endpoint.WorkloadName),
                 })
        {
            if (value is not null)
            {
                json.WriteString($"{prefix}_{key}", value);
            }
        }
    }

    private static FlowRow Flow(string src, string dst, string? original, int protocol, FlowEndpoint source, FlowEndpoint destination, string? service, string? name, TrafficClass trafficClass) => new()
    {
        Flow = Record(src, dst, original, protocol),
        Source = source,
        Destination = destination,
        DestinationService = service,
        DestinationDnsName = name,
        TrafficClass = trafficClass,
    };

    private static FlowRecord Record(string src, string dst, string? original, int protocol) => new()
    {
        SourceIp = IpAddr.Parse(src),
        DestinationIp = IpAddr.Parse(dst),
        OriginalDestinationIp = original is null ? null : IpAddr.Parse(original),
        Protocol = protocol,
        TxBytes = 123_456_789_012,
        RxBytes = 7,
        TxPackets = 1,
        RxPackets = 99,
    };
}
