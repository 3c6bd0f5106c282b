using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using Egressd.Shared.Hosting;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>
/// Renders the flow series in the Prometheus text format straight from the store, a chunk of
/// series at a time, so a scrape of a million series neither copies the store nor holds its lock
/// for the whole response.
/// </summary>
internal sealed class FlowExposition : IMetricsSource, IDisposable
{
    private const int ChunkBytes = 64 * 1024;

    /// <summary>Renders at once; a third scrape waits for one to finish.</summary>
    private const int ConcurrentRenders = 2;

    private readonly SemaphoreSlim renders = new(ConcurrentRenders, ConcurrentRenders);

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

        // Every render walks the whole store; a crowd of scrapes at once would only multiply the
        // CPU and buffers a scrape costs. Others wait their turn (or give up with their request).
        await renders.WaitAsync(cancellationToken);
        try
        {
            await RenderAsync(output, cancellationToken);
        }
        finally
        {
            renders.Release();
        }
    }

    private async Task RenderAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        var renderer = new Renderer(this);
        byte[]? spill = null;
        try
        {
            // The combined families only where such series exist, so an exporter fed by sources
            // with separate counters serves exactly what it did before they existed.
            var families = store.CombinedCount > 0
                ? FlowMetrics.Families.Select(f => (f, false)).Concat(FlowMetrics.CombinedFamilies.Select(f => (f, true)))
                : FlowMetrics.Families.Select(f => (f, false));
            foreach (var ((name, counter, help), combined) in families)
            {
                output.Write(Encoding.UTF8.GetBytes($"# HELP {name} {help}\n# TYPE {name} counter\n"));
                renderer.Metric(name, counter, combined);
                var cursor = 0;
                while (cursor >= 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    // Rendered straight into the response's buffer; one flush per chunk, so the
                    // store's lock is held for one chunk of series at a time.
                    var memory = output.GetMemory(ChunkBytes);
                    renderer.Begin(memory);
                    var next = store.Visit(cursor, renderer);
                    if (renderer.Length > 0)
                    {
                        output.Advance(renderer.Length);
                    }
                    else if (next >= 0)
                    {
                        // One series longer than the buffer the pipe gives (long label values; the
                        // pipe may give less than asked): rendered into a buffer of our own, grown
                        // until it fits, and copied into the pipe, which takes any length.
                        var size = Math.Max(ChunkBytes, memory.Length) * 2;
                        while (true)
                        {
                            if (spill is null || spill.Length < size)
                            {
                                if (spill is not null)
                                {
                                    ArrayPool<byte>.Shared.Return(spill);
                                }

                                spill = ArrayPool<byte>.Shared.Rent(size);
                            }

                            renderer.Begin(spill);
                            next = store.Visit(cursor, renderer);
                            if (renderer.Length > 0 || next < 0)
                            {
                                break;
                            }

                            size = size <= Array.MaxLength / 2
                                ? size * 2
                                : throw new InvalidOperationException("A flow series is too long to render");
                        }

                        output.Write(spill.AsSpan(0, renderer.Length));
                    }

                    cursor = next;
                    if ((await output.FlushAsync(cancellationToken)).IsCompleted)
                    {
                        return;
                    }
                }
            }
        }
        finally
        {
            if (spill is not null)
            {
                ArrayPool<byte>.Shared.Return(spill);
            }
        }
    }

    public void Dispose() => renders.Dispose();

    /// <summary>Escapes a label value for the text format: backslash, double quote and newline.</summary>
    internal static string Escape(string value) =>
        value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);

    private sealed class Renderer(FlowExposition exposition) : ISeriesVisitor
    {
        private static readonly SearchValues<byte> Special = SearchValues.Create("\\\"\n"u8);

        private Memory<byte> target;
        private byte[] name = [];
        private int counter;
        private bool combined;

        public int Length { get; private set; }

        public void Metric(string metric, int counterIndex, bool combinedFamily)
        {
            name = Encoding.UTF8.GetBytes(metric);
            counter = counterIndex;
            combined = combinedFamily;
        }

        public void Begin(Memory<byte> memory)
        {
            target = memory;
            Length = 0;
        }

        // Fully optimized from the first scrape on: tiered JIT would run the first few scrapes
        // of a large store on tier-0 code, several times slower than the optimized loop.
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public bool Visit(FlowSeriesStore.SeriesView series)
        {
            if (series.Combined != combined)
            {
                // Another family's series.
                return true;
            }

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
