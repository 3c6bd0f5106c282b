using System.Buffers.Binary;
using System.Text;

namespace Egressd.Exporter.Sinks.Prometheus.RemoteWrite;

/// <summary>
/// Encodes flow series as a Prometheus remote-write <c>WriteRequest</c> (prometheus/prompb,
/// remote write 1.0): one <c>TimeSeries</c> per counter, labels sorted by name (Thanos and others
/// reject unsorted ones), empty-valued labels left out as a scrape would.
/// Written by hand from the store's interned UTF-8 values: the generated message classes would
/// allocate an object per label of every sample, millions per push.
/// </summary>
internal sealed class RemoteWriteEncoder : ISeriesVisitor
{
    private readonly (byte[] Name, byte[]? Field, int Dimension)[] layout;
    private readonly (int Counter, byte[] NameField)[] metrics;
    private readonly (int Counter, byte[] NameField)[] combinedMetrics;
    private readonly int maxSamples;
    private byte[] buffer = new byte[64 * 1024];
    private long timestamp;

    /// <param name="counters">Which of the four flow counters to send.</param>
    public RemoteWriteEncoder(IReadOnlyList<string> flowLabels, IEnumerable<KeyValuePair<string, string>> staticLabels, IEnumerable<int> counters, int maxSamples)
    {
        this.maxSamples = maxSamples;
        // "__name__" sorts among the others like any label: after upper-case names, before lower-case ones.
        var all = FlowMetrics.Layout(flowLabels, staticLabels.Append(new("__name__", "")));
        layout = [.. all.Select(l => (
            Encoding.UTF8.GetBytes(l.Name),
            l.Dimension < 0 && l.Name != "__name__" ? LabelField(l.Name, l.Value!) : null,
            l.Name == "__name__" ? -2 : l.Dimension))];
        metrics = [.. counters.Select(c => (c, LabelField("__name__", FlowMetrics.Families.Single(f => f.Counter == c).Name)))];
        // A combined series is sent as its two totals whatever directional counters are chosen:
        // they are its only figures.
        combinedMetrics = [.. FlowMetrics.CombinedFamilies.Select(f => (f.Counter, LabelField("__name__", f.Name)))];
    }

    // Only to encode a fixed label into a buffer of its exact size.
    private RemoteWriteEncoder(byte[] buffer)
    {
        this.buffer = buffer;
        layout = [];
        metrics = [];
        combinedMetrics = [];
    }

    /// <summary>Samples encoded since <see cref="Reset"/>.</summary>
    public int Samples { get; private set; }

    public int Length { get; private set; }

    /// <summary>The encoded <c>WriteRequest</c>.</summary>
    public ReadOnlySpan<byte> Written => buffer.AsSpan(0, Length);

    /// <summary>Starts a new request whose samples carry <paramref name="timestampMs"/> (Unix milliseconds).</summary>
    public void Reset(long timestampMs)
    {
        timestamp = timestampMs;
        Samples = 0;
        Length = 0;
    }

    public bool Visit(FlowSeriesStore.SeriesView series)
    {
        var chosen = series.Combined ? combinedMetrics : metrics;
        if (Samples > 0 && Samples + chosen.Length > maxSamples)
        {
            return false;
        }

        foreach (var (counter, nameField) in chosen)
        {
            // TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
            // Sample { double value = 1; int64 timestamp = 2; }
            var sampleSize = 1 + 8 + 1 + VarintSize((ulong)timestamp);
            var size = 1 + VarintSize((ulong)sampleSize) + sampleSize;
            foreach (var (name, field, dimension) in layout)
            {
                size += dimension switch
                {
                    -2 => nameField.Length,
                    < 0 => field!.Length,
                    _ => series.Value(dimension) is { Length: > 0 } value ? FieldSize(LabelSize(name.Length, value.Length)) : 0,
                };
            }

            // WriteRequest { repeated TimeSeries timeseries = 1; }
            Ensure(FieldSize(size));
            WriteTag(1, 2);
            WriteVarint((ulong)size);
            foreach (var (name, field, dimension) in layout)
            {
                if (dimension == -2)
                {
                    WriteBytes(nameField);
                }
                else if (dimension < 0)
                {
                    WriteBytes(field!);
                }
                else if (series.Value(dimension) is { Length: > 0 } value)
                {
                    WriteLabel(name, value);
                }
            }

            WriteSample(sampleSize, series.Counter(counter));
            Samples++;
        }

        return true;
    }

    /// <summary>
    /// Appends <c>egressd_transfer_cost_usd_total</c> series (<see cref="Cost.CostSeriesStore.Read"/>), each in
    /// dollars, with its flow labels, <c>charge</c> and the static labels, sorted by name.
    /// </summary>
    public void AppendCost(
        IReadOnlyList<string> labelNames,
        IEnumerable<KeyValuePair<string, string>> staticLabels,
        IReadOnlyList<(IReadOnlyList<string> Values, Egressd.Shared.Cost.ChargeKind Charge, Int128 Picodollars)> series)
    {
        var fixedLabels = staticLabels.ToList();
        foreach (var (values, charge, picodollars) in series)
        {
            var labels = labelNames.Select((name, i) => (Name: name, Value: values[i]))
                .Append((Cost.CostLabels.Charge, Egressd.Shared.Cost.ChargeKindNames.Name(charge)))
                .Append(("__name__", Cost.CostExposition.Name))
                .Concat(fixedLabels.Select(l => (l.Key, l.Value)))
                .Where(l => l.Item2.Length > 0)
                .OrderBy(l => l.Item1, StringComparer.Ordinal)
                .Select(l => (Name: Encoding.UTF8.GetBytes(l.Item1), Value: Encoding.UTF8.GetBytes(l.Item2)))
                .ToList();
            var sampleSize = 1 + 8 + 1 + VarintSize((ulong)timestamp);
            var size = 1 + VarintSize((ulong)sampleSize) + sampleSize + labels.Sum(l => FieldSize(LabelSize(l.Name.Length, l.Value.Length)));
            Ensure(FieldSize(size));
            WriteTag(1, 2);
            WriteVarint((ulong)size);
            foreach (var (name, value) in labels)
            {
                WriteLabel(name, value);
            }

            WriteSample(sampleSize, (double)((decimal)picodollars / Egressd.Contracts.FlowCharges.PicodollarsPerDollar));
            Samples++;
        }
    }

    /// <summary>A whole <c>labels</c> field of a TimeSeries for a fixed label.</summary>
    private static byte[] LabelField(string name, string value)
    {
        var n = Encoding.UTF8.GetBytes(name);
        var v = Encoding.UTF8.GetBytes(value);
        var encoder = new RemoteWriteEncoder(new byte[FieldSize(LabelSize(n.Length, v.Length))]);
        encoder.WriteTag(1, 2);
        encoder.WriteVarint((ulong)LabelSize(n.Length, v.Length));
        encoder.WriteString(1, n);
        encoder.WriteString(2, v);
        return encoder.buffer;
    }

    // Label { string name = 1; string value = 2; }
    private static int LabelSize(int name, int value) => 1 + VarintSize((ulong)name) + name + 1 + VarintSize((ulong)value) + value;

    private static int FieldSize(int length) => 1 + VarintSize((ulong)length) + length;

    private static int VarintSize(ulong value)
    {
        var size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    private void Ensure(int more)
    {
        if (Length + more > buffer.Length)
        {
            Array.Resize(ref buffer, Math.Max(buffer.Length * 2, Length + more));
        }
    }

    // A Label message as a TimeSeries field: name and value.
    private void WriteLabel(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        WriteTag(1, 2);
        WriteVarint((ulong)LabelSize(name.Length, value.Length));
        WriteString(1, name);
        WriteString(2, value);
    }

    // A Sample message as a TimeSeries field: the value and the batch's timestamp.
    private void WriteSample(int sampleSize, double value)
    {
        WriteTag(2, 2);
        WriteVarint((ulong)sampleSize);
        WriteTag(1, 1);
        BinaryPrimitives.WriteDoubleLittleEndian(buffer.AsSpan(Length), value);
        Length += 8;
        WriteTag(2, 0);
        WriteVarint((ulong)timestamp);
    }

    private void WriteTag(int field, int wireType) => buffer[Length++] = (byte)((field << 3) | wireType);

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            buffer[Length++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[Length++] = (byte)value;
    }

    private void WriteString(int field, ReadOnlySpan<byte> bytes)
    {
        WriteTag(field, 2);
        WriteVarint((ulong)bytes.Length);
        WriteBytes(bytes);
    }

    private void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(buffer.AsSpan(Length));
        Length += bytes.Length;
    }
}
