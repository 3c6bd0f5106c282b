using Egressd.Contracts;
using Egressd.Shared.Cost;

namespace Egressd.Exporter.Sinks.Prometheus.Cost;

/// <summary>
/// What the traffic cost, cumulative per label set and charge, in pico-dollars (exact integers: a
/// sum of billions of windows does not drift), from each batch's per-flow costs. Few series by
/// design (namespaces × workloads × classes), so a plain dictionary under one lock; series no
/// flow has cost anything for the idle timeout go, as the flow series do.
/// </summary>
internal sealed class CostSeriesStore
{
    private readonly Lock gate = new();
    private readonly FlowLabelValue[] extractors;
    private readonly FlowLabelContext context;
    private readonly int maxSeries;
    private readonly TimeSpan idleTimeout;
    private readonly TimeProvider time;
    private readonly Dictionary<Key, Series> series = [];
    private DateTimeOffset nextSweep;

    public CostSeriesStore(IReadOnlyList<string> labelNames, FlowLabelContext context, int maxSeries, TimeSpan idleTimeout, TimeProvider time, PrometheusSinkMetrics metrics)
    {
        LabelNames = labelNames;
        extractors = [.. labelNames.Select(n => FlowLabels.Capped(FlowLabels.All[n].Value, metrics.LabelValuesTruncated[n]))];
        this.context = context;
        this.maxSeries = maxSeries;
        this.idleTimeout = idleTimeout;
        this.time = time;
        nextSweep = time.GetUtcNow() + idleTimeout;
    }

    /// <summary>The flow labels of every series, sorted by name (<c>charge</c> comes on top).</summary>
    public IReadOnlyList<string> LabelNames { get; }

    public int Count
    {
        get
        {
            lock (gate)
            {
                return series.Count;
            }
        }
    }

    /// <summary>Adds each flow's cost to its series; flows that cost nothing make none. Returns the flows refused for the series cap.</summary>
    public int Apply(FlowBatchEnriched batch)
    {
        var now = time.GetUtcNow();
        var refused = 0;
        lock (gate)
        {
            for (var i = 0; i < batch.Flows.Count; i++)
            {
                var flow = batch.Flows[i];
                if (flow.Cost.IsZero)
                {
                    continue;
                }

                var source = batch.Endpoints[flow.SourceEndpoint];
                var destination = batch.Endpoints[flow.DestinationEndpoint];
                var values = new string[extractors.Length];
                for (var d = 0; d < values.Length; d++)
                {
                    values[d] = extractors[d](flow, source, destination, context);
                }

                var key = new Key(values);
                if (!series.TryGetValue(key, out var entry))
                {
                    if (series.Count >= maxSeries)
                    {
                        refused++;
                        continue;
                    }

                    series[key] = entry = new Series();
                }

                entry.Egress += flow.Cost.Egress;
                entry.Ingress += flow.Cost.Ingress;
                entry.Nat += flow.Cost.Nat;
                entry.Touched = now;
            }

            if (now >= nextSweep)
            {
                foreach (var (key, entry) in series)
                {
                    if (now - entry.Touched >= idleTimeout)
                    {
                        series.Remove(key);
                    }
                }

                nextSweep = now + (idleTimeout / 2);
            }
        }

        return refused;
    }

    /// <summary>Every series (label values in <see cref="LabelNames"/> order) with its cumulative pico-dollars per charge.</summary>
    public IReadOnlyList<(IReadOnlyList<string> Values, ChargeKind Charge, Int128 Picodollars)> Read()
    {
        lock (gate)
        {
            var read = new List<(IReadOnlyList<string>, ChargeKind, Int128)>(series.Count * 3);
            foreach (var (key, entry) in series.OrderBy(s => s.Key))
            {
                // A charge that never applied to the series (ingress on internet traffic) is left out, not shown as 0.
                if (entry.Egress != 0)
                {
                    read.Add((key.Values, ChargeKind.Egress, entry.Egress));
                }

                if (entry.Ingress != 0)
                {
                    read.Add((key.Values, ChargeKind.Ingress, entry.Ingress));
                }

                if (entry.Nat != 0)
                {
                    read.Add((key.Values, ChargeKind.Nat, entry.Nat));
                }
            }

            return read;
        }
    }

    private sealed class Series
    {
        public Int128 Egress;
        public Int128 Ingress;
        public Int128 Nat;
        public DateTimeOffset Touched;
    }

    private readonly struct Key(string[] values) : IEquatable<Key>, IComparable<Key>
    {
        public string[] Values { get; } = values;

        public bool Equals(Key other) => Values.AsSpan().SequenceEqual(other.Values);

        public override bool Equals(object? obj) => obj is Key other && Equals(other);

        public override int GetHashCode()
        {
            var hash = default(HashCode);
            foreach (var value in Values)
            {
                hash.Add(value, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }

        public int CompareTo(Key other)
        {
            for (var i = 0; i < Values.Length; i++)
            {
                var c = string.CompareOrdinal(Values[i], other.Values[i]);
                if (c != 0)
                {
                    return c;
                }
            }

            return 0;
        }
    }
}
