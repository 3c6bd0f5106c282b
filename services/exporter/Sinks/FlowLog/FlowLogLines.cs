using System.Buffers;
using System.Reflection;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>
/// Encodes a batch as flat JSON lines, one per flow, straight into a buffer: no object graph per
/// line. Each line starts with the batch id and the line's place in the batch
/// (<c>batch_line</c> of <c>batch_lines</c>), so a reader — and the sink itself after a crash —
/// can tell a whole batch from a torn one. Keys are snake_case; unknown (null) values are left out.
/// </summary>
internal static class FlowLogLines
{
    // A log file, not HTML: keep '+' in timestamps and non-ASCII names readable. Quotes and
    // control characters are still escaped, so every line stays one valid JSON object.
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    internal static readonly JsonEncodedText BatchId = JsonEncodedText.Encode("batch_id");
    internal static readonly JsonEncodedText BatchLine = JsonEncodedText.Encode("batch_line");
    internal static readonly JsonEncodedText BatchLines = JsonEncodedText.Encode("batch_lines");
    private static readonly JsonEncodedText Node = JsonEncodedText.Encode("node");
    private static readonly JsonEncodedText WindowStart = JsonEncodedText.Encode("window_start");
    private static readonly JsonEncodedText WindowEnd = JsonEncodedText.Encode("window_end");
    private static readonly JsonEncodedText SourceKind = JsonEncodedText.Encode("source_kind");
    private static readonly JsonEncodedText CounterDirectionsKey = JsonEncodedText.Encode("counter_directions");
    private static readonly JsonEncodedText SrcIp = JsonEncodedText.Encode("src_ip");
    private static readonly JsonEncodedText DstIp = JsonEncodedText.Encode("dst_ip");
    private static readonly JsonEncodedText OriginalDstIp = JsonEncodedText.Encode("original_dst_ip");
    private static readonly JsonEncodedText Protocol = JsonEncodedText.Encode("protocol");
    private static readonly JsonEncodedText TxBytes = JsonEncodedText.Encode("tx_bytes");
    private static readonly JsonEncodedText RxBytes = JsonEncodedText.Encode("rx_bytes");
    private static readonly JsonEncodedText TxPackets = JsonEncodedText.Encode("tx_packets");
    private static readonly JsonEncodedText RxPackets = JsonEncodedText.Encode("rx_packets");
    private static readonly JsonEncodedText TrafficClassKey = JsonEncodedText.Encode("traffic_class");
    private static readonly JsonEncodedText DstService = JsonEncodedText.Encode("dst_service");
    private static readonly JsonEncodedText DstDnsName = JsonEncodedText.Encode("dst_dns_name");
    private static readonly EndpointKeys Src = new("src");
    private static readonly EndpointKeys Dst = new("dst");

    // The contracts' own wire names ("same-zone", "replay"), so the log and the bus say the same.
    private static readonly Dictionary<FlowSource, JsonEncodedText> SourceNames = WireNames<FlowSource>();
    private static readonly Dictionary<TrafficClass, JsonEncodedText> ClassNames = WireNames<TrafficClass>();
    private static readonly JsonEncodedText Combined = WireNames<FlowCounterDirections>()[FlowCounterDirections.Combined];

    /// <summary>Appends every line of <paramref name="batch"/> to <paramref name="buffer"/>.</summary>
    public static void Write(IBufferWriter<byte> buffer, FlowBatchEnriched batch) => Write(buffer, batch, 0, batch.Flows.Count);

    /// <summary>Appends the lines of flows <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> (their <c>batch_line</c> stays their place in the whole batch).</summary>
    public static void Write(IBufferWriter<byte> buffer, FlowBatchEnriched batch, int start, int count)
    {
        var head = new BatchHead(batch);
        using var json = new Utf8JsonWriter(buffer, WriterOptions);
        for (var i = start; i < start + count; i++)
        {
            WriteFlow(json, head, batch, i);
            json.Flush();
            buffer.GetSpan(1)[0] = (byte)'\n';
            buffer.Advance(1);
            // One writer for many top-level values: Reset forgets the finished object.
            json.Reset(buffer);
        }
    }

    /// <summary>Writes flows <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> as objects of an open JSON array.</summary>
    public static void WriteObjects(Utf8JsonWriter json, FlowBatchEnriched batch, int start, int count)
    {
        var head = new BatchHead(batch);
        for (var i = start; i < start + count; i++)
        {
            WriteFlow(json, head, batch, i);
        }
    }

    /// <summary>The writer options lines are written with.</summary>
    internal static JsonWriterOptions Options => WriterOptions;

    private static void WriteFlow(Utf8JsonWriter json, BatchHead head, FlowBatchEnriched batch, int i)
    {
        var enriched = batch.Flows[i];
        var flow = enriched.Flow;
        json.WriteStartObject();
        json.WriteString(BatchId, head.Id);
        json.WriteNumber(BatchLine, i + 1);
        json.WriteNumber(BatchLines, batch.Flows.Count);
        json.WriteString(Node, head.Node);
        json.WriteString(WindowStart, batch.WindowStart);
        json.WriteString(WindowEnd, batch.WindowEnd);
        json.WriteString(SourceKind, head.Source);
        if (head.Combined)
        {
            // Only where it applies: lines of sources with separate counters stay as they were.
            json.WriteString(CounterDirectionsKey, Combined);
        }

        WriteAddress(json, SrcIp, flow.SourceIp);
        WriteAddress(json, DstIp, flow.DestinationIp);
        if (flow.OriginalDestinationIp is { } original)
        {
            WriteAddress(json, OriginalDstIp, original);
        }

        json.WriteNumber(Protocol, flow.Protocol);
        json.WriteNumber(TxBytes, flow.TxBytes);
        json.WriteNumber(RxBytes, flow.RxBytes);
        json.WriteNumber(TxPackets, flow.TxPackets);
        json.WriteNumber(RxPackets, flow.RxPackets);
        json.WriteString(TrafficClassKey, ClassNames.TryGetValue(enriched.TrafficClass, out var c) ? c : JsonEncodedText.Encode(enriched.TrafficClass.ToString()));
        Src.Write(json, enriched.Source);
        Dst.Write(json, enriched.Destination);
        WriteIfKnown(json, DstService, enriched.DestinationService);
        WriteIfKnown(json, DstDnsName, enriched.DestinationDnsName);
        json.WriteEndObject();
    }

    private static void WriteAddress(Utf8JsonWriter json, JsonEncodedText key, IpAddr address)
    {
        // Straight from the address's bytes to the line: no string per flow.
        Span<byte> text = stackalloc byte[64];
        if (address.TryFormat(text, out var written))
        {
            json.WriteString(key, text[..written]);
        }
        else
        {
            json.WriteString(key, address.ToString());
        }
    }

    private static void WriteIfKnown(Utf8JsonWriter json, JsonEncodedText key, string? value)
    {
        if (value is not null)
        {
            json.WriteString(key, value);
        }
    }

    private static Dictionary<T, JsonEncodedText> WireNames<T>()
        where T : struct, Enum =>
        Enum.GetValues<T>().ToDictionary(
            v => v,
            v => JsonEncodedText.Encode(
                typeof(T).GetField(v.ToString())!.GetCustomAttribute<JsonStringEnumMemberNameAttribute>()?.Name ?? v.ToString()));

    /// <summary>What every line of a batch repeats, encoded once per batch.</summary>
    private readonly struct BatchHead(FlowBatchEnriched batch)
    {
        public readonly JsonEncodedText Id = JsonEncodedText.Encode(batch.Id.ToString(), WriterOptions.Encoder);
        public readonly JsonEncodedText Node = JsonEncodedText.Encode(batch.Node, WriterOptions.Encoder);
        public readonly JsonEncodedText Source = SourceNames.TryGetValue(batch.Source, out var s) ? s : JsonEncodedText.Encode(batch.Source.ToString());
        public readonly bool Combined = batch.CounterDirections == FlowCounterDirections.Combined;
    }

    private sealed class EndpointKeys(string prefix)
    {
        private readonly JsonEncodedText pod = JsonEncodedText.Encode(prefix + "_pod");
        private readonly JsonEncodedText ns = JsonEncodedText.Encode(prefix + "_namespace");
        private readonly JsonEncodedText node = JsonEncodedText.Encode(prefix + "_node");
        private readonly JsonEncodedText zone = JsonEncodedText.Encode(prefix + "_zone");
        private readonly JsonEncodedText region = JsonEncodedText.Encode(prefix + "_region");
        private readonly JsonEncodedText workloadKind = JsonEncodedText.Encode(prefix + "_workload_kind");
        private readonly JsonEncodedText workloadName = JsonEncodedText.Encode(prefix + "_workload_name");

        public void Write(Utf8JsonWriter json, FlowEndpoint endpoint)
        {
            WriteIfKnown(json, pod, endpoint.Pod);
            WriteIfKnown(json, ns, endpoint.Namespace);
            WriteIfKnown(json, node, endpoint.Node);
            WriteIfKnown(json, zone, endpoint.Zone);
            WriteIfKnown(json, region, endpoint.Region);
            WriteIfKnown(json, workloadKind, endpoint.WorkloadKind);
            WriteIfKnown(json, workloadName, endpoint.WorkloadName);
        }
    }
}
