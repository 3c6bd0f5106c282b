using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>
/// Writes one batch's lines (<see cref="FlowLogLines"/>) straight into the buffer: what every line
/// repeats (batch id, node, window) is escaped once per batch, and names made only of printable
/// ASCII other than quote and backslash (nearly all Kubernetes names) are copied without
/// <see cref="Utf8JsonWriter"/>'s per-value escaping and validation, about half the cost of a
/// line. Any other name goes through the same escaping as before. The bytes are the ones
/// <see cref="Utf8JsonWriter"/> writes for the same object with <see cref="FlowLogLines.Options"/>;
/// the tests hold them to that.
/// </summary>
internal sealed class FlowLogLineWriter
{
    // Room for a line's keys (about 610 bytes), numbers (costs too) and addresses; names are counted on top.
    private const int FixedRoom = 1280;

    private static readonly byte[] Open = Ascii("{\"batch_id\":\"");
    private static readonly byte[] LineKey = Ascii("\",\"batch_line\":");
    private static readonly byte[] SourceIpKey = Ascii(",\"src_ip\":\"");
    private static readonly byte[] DestinationIpKey = Ascii("\",\"dst_ip\":\"");
    private static readonly byte[] OriginalIpKey = Ascii("\",\"original_dst_ip\":\"");
    private static readonly byte[] ProtocolKey = Ascii("\",\"protocol\":");
    private static readonly byte[] TxBytesKey = Ascii(",\"tx_bytes\":");
    private static readonly byte[] RxBytesKey = Ascii(",\"rx_bytes\":");
    private static readonly byte[] TxPacketsKey = Ascii(",\"tx_packets\":");
    private static readonly byte[] RxPacketsKey = Ascii(",\"rx_packets\":");
    private static readonly byte[] ServiceKey = Ascii(",\"dst_service\":\"");
    private static readonly byte[] DnsNameKey = Ascii(",\"dst_dns_name\":\"");
    private static readonly byte[][] ClassPieces = [.. Enum.GetValues<TrafficClass>().Select(c => Ascii($",\"traffic_class\":\"{FlowLogLines.ClassName(c)}\""))];
    private static readonly byte[] CostEgressKey = Ascii(",\"cost_egress_usd\":");
    private static readonly byte[] CostIngressKey = Ascii(",\"cost_ingress_usd\":");
    private static readonly byte[] CostNatKey = Ascii(",\"cost_nat_usd\":");
    private static readonly EndpointKeys SourceKeys = new("src");
    private static readonly EndpointKeys DestinationKeys = new("dst");

    // What UnsafeRelaxedJsonEscaping leaves as it is, among ASCII: everything printable but quote and backslash.
    private static readonly SearchValues<char> Plain = SearchValues.Create(
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    private readonly IReadOnlyList<EnrichedFlow> flows;
    private readonly IReadOnlyList<FlowEndpoint> endpoints;
    private readonly byte[] head;
    private readonly byte[] middle;

    public FlowLogLineWriter(FlowBatchEnriched batch)
    {
        flows = batch.Flows;
        endpoints = batch.Endpoints;
        head = [.. Open, .. FlowLogLines.Escaped(batch.Header.Id.ToString()), .. LineKey];
        var middleText = new ArrayBufferWriter<byte>(256);
        Put(middleText, ",\"batch_lines\":" + batch.Flows.Count.ToString(CultureInfo.InvariantCulture) + ",\"node\":\"");
        middleText.Write(FlowLogLines.Escaped(batch.Header.Node));
        Put(middleText, "\",\"window_start\":");
        middleText.Write(Timestamp(batch.Header.WindowStart));
        Put(middleText, ",\"window_end\":");
        middleText.Write(Timestamp(batch.Header.WindowEnd));
        Put(middleText, $",\"source_kind\":\"{FlowLogLines.SourceName(batch.Header.Source)}\"");
        if (batch.Header.CounterDirections == FlowCounterDirections.Combined)
        {
            // Only where it applies: lines of sources with separate counters stay as they were.
            Put(middleText, $",\"counter_directions\":\"{FlowLogLines.CombinedName}\"");
        }

        middleText.Write(SourceIpKey);
        middle = middleText.WrittenSpan.ToArray();
    }

    /// <summary>Appends line <paramref name="i"/> (its <c>batch_line</c> is <paramref name="i"/> + 1), without the newline.</summary>
    public void Write(IBufferWriter<byte> buffer, int i)
    {
        var flow = flows[i];
        var record = flow.Flow;
        var source = endpoints[flow.SourceEndpoint];
        var destination = endpoints[flow.DestinationEndpoint];
        // Escaped, a UTF-16 char takes at most six bytes (\uXXXX).
        var names = EndpointKeys.Length(source) + EndpointKeys.Length(destination)
            + (flow.DestinationService?.Length ?? 0) + (flow.DestinationDnsName?.Length ?? 0);
        var line = buffer.GetSpan(FixedRoom + head.Length + middle.Length + (6 * names));
        var at = 0;
        Copy(line, ref at, head);
        Number(line, ref at, (ulong)(i + 1));
        Copy(line, ref at, middle);
        Address(line, ref at, record.SourceIp);
        Copy(line, ref at, DestinationIpKey);
        Address(line, ref at, record.DestinationIp);
        if (record.OriginalDestinationIp is { } original)
        {
            Copy(line, ref at, OriginalIpKey);
            Address(line, ref at, original);
        }

        Copy(line, ref at, ProtocolKey);
        if (record.Protocol < 0)
        {
            line[at++] = (byte)'-';
        }

        Number(line, ref at, (ulong)Math.Abs((long)record.Protocol));
        Copy(line, ref at, TxBytesKey);
        Number(line, ref at, record.TxBytes);
        Copy(line, ref at, RxBytesKey);
        Number(line, ref at, record.RxBytes);
        Copy(line, ref at, TxPacketsKey);
        Number(line, ref at, record.TxPackets);
        Copy(line, ref at, RxPacketsKey);
        Number(line, ref at, record.RxPackets);
        Copy(line, ref at, (uint)flow.TrafficClass < (uint)ClassPieces.Length ? ClassPieces[(int)flow.TrafficClass] : Ascii($",\"traffic_class\":\"{FlowLogLines.ClassName(flow.TrafficClass)}\""));
        SourceKeys.Write(line, ref at, source);
        DestinationKeys.Write(line, ref at, destination);
        Field(line, ref at, ServiceKey, flow.DestinationService);
        Field(line, ref at, DnsNameKey, flow.DestinationDnsName);
        if (!flow.Cost.IsZero)
        {
            // Dollars in exact decimal digits of the wire's pico-dollars: summing a log's lines gives the counter's figure.
            Copy(line, ref at, CostEgressKey);
            Dollars(line, ref at, flow.Cost.Egress);
            Copy(line, ref at, CostIngressKey);
            Dollars(line, ref at, flow.Cost.Ingress);
            Copy(line, ref at, CostNatKey);
            Dollars(line, ref at, flow.Cost.Nat);
        }

        line[at++] = (byte)'}';
        buffer.Advance(at);
    }

    /// <summary><paramref name="key"/> (<c>,"name":"</c>), the value and its closing quote; nothing for null.</summary>
    private static void Field(Span<byte> line, ref int at, byte[] key, string? value)
    {
        if (value is null)
        {
            return;
        }

        Copy(line, ref at, key);
        if (value.AsSpan().ContainsAnyExcept(Plain))
        {
            Copy(line, ref at, FlowLogLines.Escaped(value));
        }
        else
        {
            // Plain ASCII: one byte a char, as it is.
            at += Encoding.ASCII.GetBytes(value, line[at..]);
        }

        line[at++] = (byte)'"';
    }

    /// <summary>A time as <see cref="Utf8JsonWriter"/> writes it, quotes included.</summary>
    private static byte[] Timestamp(DateTimeOffset time)
    {
        var text = new ArrayBufferWriter<byte>(48);
        using (var json = new Utf8JsonWriter(text, FlowLogLines.Options))
        {
            json.WriteStringValue(time);
        }

        return text.WrittenSpan.ToArray();
    }

    private static void Copy(Span<byte> line, ref int at, ReadOnlySpan<byte> piece)
    {
        piece.CopyTo(line[at..]);
        at += piece.Length;
    }

    private static void Dollars(Span<byte> line, ref int at, long picodollars)
    {
        ((decimal)picodollars / FlowCharges.PicodollarsPerDollar).TryFormat(line[at..], out var written, default, CultureInfo.InvariantCulture);
        at += written;
    }

    private static void Number(Span<byte> line, ref int at, ulong value)
    {
        value.TryFormat(line[at..], out var written, default, CultureInfo.InvariantCulture);
        at += written;
    }

    private static void Address(Span<byte> line, ref int at, IpAddr address)
    {
        // Straight from the address's bytes to the line: no string per flow.
        if (!address.TryFormat(line[at..], out var written))
        {
            written = Encoding.UTF8.GetBytes(address.ToString(), line[at..]);
        }

        at += written;
    }

    private static void Put(ArrayBufferWriter<byte> text, string ascii) => text.Write(Encoding.UTF8.GetBytes(ascii));

    private static byte[] Ascii(string text) => Encoding.UTF8.GetBytes(text);

    /// <summary>An endpoint's seven keys under one prefix (<c>src</c> or <c>dst</c>).</summary>
    private sealed class EndpointKeys(string prefix)
    {
        private readonly byte[] pod = Key(prefix, "pod");
        private readonly byte[] ns = Key(prefix, "namespace");
        private readonly byte[] node = Key(prefix, "node");
        private readonly byte[] zone = Key(prefix, "zone");
        private readonly byte[] region = Key(prefix, "region");
        private readonly byte[] workloadKind = Key(prefix, "workload_kind");
        private readonly byte[] workloadName = Key(prefix, "workload_name");

        /// <summary>The characters of the endpoint's names.</summary>
        public static int Length(FlowEndpoint e) =>
            (e.Pod?.Length ?? 0) + (e.Namespace?.Length ?? 0) + (e.Node?.Length ?? 0) + (e.Zone?.Length ?? 0)
            + (e.Region?.Length ?? 0) + (e.WorkloadKind?.Length ?? 0) + (e.WorkloadName?.Length ?? 0);

        public void Write(Span<byte> line, ref int at, FlowEndpoint endpoint)
        {
            Field(line, ref at, pod, endpoint.Pod);
            Field(line, ref at, ns, endpoint.Namespace);
            Field(line, ref at, node, endpoint.Node);
            Field(line, ref at, zone, endpoint.Zone);
            Field(line, ref at, region, endpoint.Region);
            Field(line, ref at, workloadKind, endpoint.WorkloadKind);
            Field(line, ref at, workloadName, endpoint.WorkloadName);
        }

        private static byte[] Key(string prefix, string name) => Ascii($",\"{prefix}_{name}\":\"");
    }
}
