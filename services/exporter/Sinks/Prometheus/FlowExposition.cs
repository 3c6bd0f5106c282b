using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using Egressd.Shared.Hosting;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>The four flow counters and what they mean; the names egressd users already query.</summary>
internal static class FlowMetrics
{
    public static readonly IReadOnlyList<(string Name, int Counter, string Help)> Families =
    [
        ("egressd_transmit_bytes_total", 0, "Bytes the source sent to the destination, since this exporter started."),
        ("egressd_received_bytes_total", 1, "Bytes the source received from the destination, since this exporter started."),
        ("egressd_transmit_packets_total", 2, "Packets the source sent to the destination, since this exporter started."),
        ("egressd_received_packets_total", 3, "Packets the source received from the destination, since this exporter started."),
    ];

    /// <summary>Every label of a flow series, sorted by name: the flow labels (by dimension) and the static ones (by value).</summary>
    public static IReadOnlyList<(string Name, int Dimension, string? Value)> Layout(
        IReadOnlyList<string> flowLabels, IEnumerable<KeyValuePair<string, string>> staticLabels) =>
        [.. flowLabels.Select((name, d) => (name, d, (string?)null))
            .Concat(staticLabels.Select(s => (s.Key, -1, (string?)s.Value)))
            .OrderBy(l => l.Item1, StringComparer.Ordinal)];
}

/// <summary>
/// Renders the flow series in the Prometheus text format straight from the store, a chunk of
/// series at a time, so a scrape of a million series neither copies the store nor holds its lock
/// for the whole response.
/// </summary>
internal sealed class FlowExposition : IMetricsSource
{
    private const int ChunkBytes = 64 * 1024;

    private readonly FlowSeriesStore store;
    private readonly byte[][] fixedParts;
    private readonly int[] dimensions;

    public FlowExposition(FlowSeriesStore store, IReadOnlyDictionary<string, string> staticLabels)
    {
        this.store = store;
        var layout = FlowMetrics.Layout(store.LabelNames, staticLabels);
        // Part i is written before label i's value: ',' (or '{'), the name, '="', and for a
        // static label its value and closing quote as well.
        fixedParts = new byte[layout.Count][];
        dimensions = new int[layout.Count];
        for (var i = 0; i < layout.Count; i++)
        {
            var (name, dimension, value) = layout[i];
            var text = (i == 0 ? "{" : ",") + name + "=\"" + (value is null ? "" : Escape(value) + "\"");
            fixedParts[i] = Encoding.UTF8.GetBytes(text);
            dimensions[i] = dimension;
        }
    }

    public async Task WriteAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        if (store.Count == 0)
        {
            return;
        }

        var renderer = new Renderer(this);
        foreach (var (name, counter, help) in FlowMetrics.Families)
        {
            output.Write(Encoding.UTF8.GetBytes($"# HELP {name} {help}\n# TYPE {name} counter\n"));
            renderer.Metric(name, counter);
            var cursor = 0;
            var size = ChunkBytes;
            while (cursor >= 0)
            {
                // Rendered straight into the response's buffer; one flush per chunk, so the
                // store's lock is held for one chunk of series at a time.
                renderer.Begin(output.GetMemory(size));
                cursor = store.Visit(cursor, renderer);
                if (cursor >= 0 && renderer.Length == 0)
                {
                    // One line longer than the whole chunk (very long label values).
                    size *= 2;
                    continue;
                }

                output.Advance(renderer.Length);
                size = ChunkBytes;
                if ((await output.FlushAsync(cancellationToken)).IsCompleted)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Escapes a label value for the text format: backslash, double quote and newline.</summary>
    internal static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Renderer(FlowExposition exposition) : ISeriesVisitor
    {
        private static readonly SearchValues<byte> Special = SearchValues.Create("\\\"\n"u8);

        private Memory<byte> target;
        private byte[] name = [];
        private int counter;

        public int Length { get; private set; }

        public void Metric(string metric, int counterIndex)
        {
            name = Encoding.UTF8.GetBytes(metric);
            counter = counterIndex;
        }

        public void Begin(Memory<byte> memory)
        {
            target = memory;
            Length = 0;
        }

        // Fully optimized from the first scrape on: tiered JIT would run the first few scrapes
        // of a large store on slow tier-0 code (measured: 3-5x slower).
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Visit(FlowSeriesStore.SeriesView series)
        {
            var span = target.Span[Length..];
            var at = 0;
            if (!Put(span, ref at, name))
            {
                return false;
            }

            var parts = exposition.fixedParts;
            for (var i = 0; i < parts.Length; i++)
            {
                if (!Put(span, ref at, parts[i]))
                {
                    return false;
                }

                var dimension = exposition.dimensions[i];
                if (dimension >= 0 && (!PutEscaped(span, ref at, series.Value(dimension)) || !Put(span, ref at, "\""u8)))
                {
                    return false;
                }
            }

            if (parts.Length > 0 && !Put(span, ref at, "}"u8))
            {
                return false;
            }

            if (!Put(span, ref at, " "u8)
                || !Utf8Formatter.TryFormat(series.Counter(counter), span[at..], out var digits))
            {
                return false;
            }

            at += digits;
            if (!Put(span, ref at, "\n"u8))
            {
                return false;
            }

            Length += at;
            return true;
        }

        private static bool Put(Span<byte> span, ref int at, ReadOnlySpan<byte> bytes)
        {
            if (!bytes.TryCopyTo(span[at..]))
            {
                return false;
            }

            at += bytes.Length;
            return true;
        }

        private static bool PutEscaped(Span<byte> span, ref int at, ReadOnlySpan<byte> value)
        {
            if (value.IndexOfAny(Special) < 0)
            {
                return Put(span, ref at, value);
            }

            foreach (var b in value)
            {
                var escaped = b switch
                {
                    (byte)'\\' => "\\\\"u8,
                    (byte)'"' => "\\\""u8,
                    (byte)'\n' => "\\n"u8,
                    _ => default,
                };
                if (escaped.IsEmpty ? !Put(span, ref at, [b]) : !Put(span, ref at, escaped))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
