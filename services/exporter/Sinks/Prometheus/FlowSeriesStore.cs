using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>
/// Cumulative flow counters, one series per label set, rebuilt from the per-window deltas on the
/// bus. Built for a million series in well under a kilobyte each: label values are interned per
/// label (a series holds one int per label), counters live in flat arrays indexed by slot, and the
/// lookup is an open-addressing table of slot numbers hashed by their label ids.
/// prometheus-net's labelled children take several times the memory for the same four counters and
/// apply flows several times slower (docs/BENCHMARKS.md), so the flow series do not go through it.
/// </summary>
/// <remarks>
/// One lock guards everything. Writers take it once per batch; readers (a scrape, a remote-write
/// push) take it for a bounded chunk of series at a time, so neither holds the other up for long.
/// </remarks>
internal sealed class FlowSeriesStore
{
    /// <summary>Counters per series: transmit bytes, received bytes, transmit packets, received packets.</summary>
    public const int CounterCount = 4;

    /// <summary>What <see cref="SeriesView.Counter"/> gives for a combined series: bytes both ways (transmit + received).</summary>
    public const int CombinedBytes = 4;

    /// <summary>Packets both ways of a combined series.</summary>
    public const int CombinedPackets = 5;

    private const long FreeSlot = long.MinValue;
    private const int InitialSlots = 1024;

    private readonly Lock gate = new();
    private readonly TimeProvider time;
    private readonly FlowLabelContext context;
    private readonly FlowLabelValue[] extractors;
    private readonly FlowLabelSource[] sources;
    private readonly BatchLabelIds batchIds;
    private readonly ValueTable[] tables;
    private readonly int dimensions;
    private readonly int maxSeries;
    private readonly long idleTimestampTicks;
    private readonly int[] probe;
    private readonly Stack<int> freeSlots = new();

    // The index: each bucket holds a live slot's key hash (high half) and the slot + 1 (low half),
    // 0 when empty; linear probing, kept at most half full. The hash beside the slot lets a probe
    // pass other series without reading their keys.
    private long[] buckets = new long[2 * InitialSlots];
    private int[] keys = [];
    private ulong[] counters = [];
    private long[] touched = [];
    private int[] hashes = [];
    private bool[] combined = [];
    private bool probeCombined;
    private int combinedLive;
    private int slotCount;
    private int live;

    public FlowSeriesStore(IReadOnlyList<string> labelNames, FlowLabelContext context, int maxSeries, TimeSpan idleTimeout, TimeProvider time, PrometheusSinkMetrics metrics)
    {
        LabelNames = labelNames;
        this.context = context;
        this.maxSeries = maxSeries;
        this.time = time;
        idleTimestampTicks = (long)(idleTimeout.TotalSeconds * time.TimestampFrequency);
        dimensions = labelNames.Count;
        extractors = [.. labelNames.Select(n => FlowLabels.Capped(FlowLabels.All[n].Value, metrics.LabelValuesTruncated[n]))];
        sources = [.. labelNames.Select(n => FlowLabels.All[n].Source)];
        tables = [.. labelNames.Select(_ => new ValueTable())];
        probe = new int[dimensions];
        batchIds = new BatchLabelIds(this);
    }

    /// <summary>The flow labels of every series, sorted by name; value <c>i</c> of a series is label <c>i</c>.</summary>
    public IReadOnlyList<string> LabelNames { get; }

    /// <summary>Live series.</summary>
    public int Count => Volatile.Read(ref live);

    /// <summary>Of those, series of flows whose counters are both directions' total (<see cref="FlowCounterDirections.Combined"/>).</summary>
    public int CombinedCount => Volatile.Read(ref combinedLive);

    /// <summary>Distinct label values held, over all labels (for tests: values of removed series must go too).</summary>
    internal int InternedValues
    {
        get
        {
            lock (gate)
            {
                return tables.Sum(t => t.Count);
            }
        }
    }

    /// <summary>
    /// Adds each flow's deltas to its series, creating series up to the cap. Flows with combined
    /// counters go to series of their own, apart from those with the same labels and separate
    /// counters, so neither family presents the other's figures as its own.
    /// </summary>
    public ApplyResult Apply(FlowBatchEnriched batch)
    {
        var now = time.GetTimestamp();
        lock (gate)
        {
            try
            {
                probeCombined = batch.Header.CounterDirections == FlowCounterDirections.Combined;
                return Apply(batch, now);
            }
            finally
            {
                batchIds.Clear();
            }
        }
    }

    private ApplyResult Apply(FlowBatchEnriched batch, long now)
    {
        var result = default(ApplyResult);
        batchIds.Begin(batch);
        var flows = Rows(batch.Flows);
        for (var i = 0; i < flows.Length; i++)
        {
            ref readonly var flow = ref flows[i];
            var hash = default(HashCode);
            batchIds.Fill(flow, probe);
            for (var d = 0; d < dimensions; d++)
            {
                hash.Add(probe[d]);
            }

            hash.Add(probeCombined);
            var probeHash = hash.ToHashCode();
            var record = flow.Flow;
            var bucket = FindBucket(probeHash);
            if (buckets[bucket] != 0)
            {
                var slot = (int)(uint)buckets[bucket] - 1;
                AddTo(slot, record);
                touched[slot] = now;
                result.Applied++;
                continue;
            }

            if ((record.TxBytes | record.RxBytes | record.TxPackets | record.RxPackets) == 0)
            {
                // Nothing to count, and a series at zero would only take room.
                ReleaseUnusedProbeValues();
                continue;
            }

            if (live >= maxSeries)
            {
                ReleaseUnusedProbeValues();
                result.Refused++;
                continue;
            }

            var created = NewSlot();
            probe.CopyTo(keys.AsSpan(created * dimensions, dimensions));
            hashes[created] = probeHash;
            combined[created] = probeCombined;
            if (probeCombined)
            {
                combinedLive++;
            }
            for (var d = 0; d < dimensions; d++)
            {
                tables[d].AddRef(probe[d]);
            }

            AddTo(created, record);
            touched[created] = now;
            live++;
            Insert(bucket, probeHash, created);
            result.Applied++;
            result.Created++;
        }

        return result;
    }

    /// <summary>Removes series no flow has updated for the idle timeout; returns how many.</summary>
    public int RemoveIdle()
    {
        var cutoff = time.GetTimestamp() - idleTimestampTicks;
        var removed = 0;
        lock (gate)
        {
            for (var slot = 0; slot < slotCount; slot++)
            {
                var last = touched[slot];
                if (last != FreeSlot && last < cutoff)
                {
                    RemoveSlot(slot);
                    removed++;
                }
            }
        }

        return removed;
    }

    /// <summary>
    /// Shows <paramref name="visitor"/> live series from slot <paramref name="cursor"/> on, under the
    /// lock, until it declines one (its buffer is full) or every slot is seen. Returns the slot to go
    /// on from, or -1 when done. Series added or removed between two calls may be seen or not, but
    /// never twice.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public int Visit(int cursor, ISeriesVisitor visitor)
    {
        lock (gate)
        {
            for (var slot = cursor; slot < slotCount; slot++)
            {
                if (touched[slot] != FreeSlot && !visitor.Visit(new SeriesView(this, slot)))
                {
                    return slot;
                }
            }

            return -1;
        }
    }

    /// <summary>The current counters of the series with these label values, or null (for tests and tools).</summary>
    public ulong[]? Find(IReadOnlyList<string> values)
    {
        lock (gate)
        {
            for (var slot = 0; slot < slotCount; slot++)
            {
                if (touched[slot] == FreeSlot)
                {
                    continue;
                }

                var view = new SeriesView(this, slot);
                var match = true;
                for (var d = 0; d < dimensions && match; d++)
                {
                    match = view.Value(d).SequenceEqual(Encoding.UTF8.GetBytes(values[d]));
                }

                if (match)
                {
                    return [.. counters.AsSpan(slot * CounterCount, CounterCount)];
                }
            }

            return null;
        }
    }

    private void AddTo(int slot, FlowRecord record)
    {
        var c = counters.AsSpan(slot * CounterCount, CounterCount);
        c[0] += record.TxBytes;
        c[1] += record.RxBytes;
        c[2] += record.TxPackets;
        c[3] += record.RxPackets;
    }

    private void ReleaseUnusedProbeValues()
    {
        for (var d = 0; d < dimensions; d++)
        {
            tables[d].ReleaseIfUnused(probe[d]);
        }
    }

    private int NewSlot()
    {
        if (freeSlots.TryPop(out var reused))
        {
            return reused;
        }

        var slot = slotCount++;
        if (slot == touched.Length)
        {
            // Doubling, but never past the cap: live series never exceed it and freed slots are reused.
            var capacity = (int)Math.Min(Math.Max(InitialSlots, (long)touched.Length * 2), maxSeries);
            Array.Resize(ref keys, capacity * dimensions);
            Array.Resize(ref counters, capacity * CounterCount);
            Array.Resize(ref touched, capacity);
            Array.Resize(ref hashes, capacity);
            Array.Resize(ref combined, capacity);
        }

        return slot;
    }

    private void RemoveSlot(int slot)
    {
        RemoveFromIndex(slot);
        var key = keys.AsSpan(slot * dimensions, dimensions);
        for (var d = 0; d < dimensions; d++)
        {
            tables[d].Release(key[d]);
        }

        counters.AsSpan(slot * CounterCount, CounterCount).Clear();
        touched[slot] = FreeSlot;
        freeSlots.Push(slot);
        live--;
        if (combined[slot])
        {
            combinedLive--;
            combined[slot] = false;
        }
    }

    /// <summary>The bucket of the series with the probe's label ids, or the empty bucket where it would go.</summary>
    private int FindBucket(int hash)
    {
        var mask = buckets.Length - 1;
        for (var b = hash & mask; ; b = (b + 1) & mask)
        {
            var entry = buckets[b];
            if (entry == 0)
            {
                return b;
            }

            var slot = (int)(uint)entry - 1;
            if ((int)(entry >> 32) == hash && combined[slot] == probeCombined && keys.AsSpan(slot * dimensions, dimensions).SequenceEqual(probe))
            {
                return b;
            }
        }
    }

    private void Insert(int bucket, int hash, int slot)
    {
        buckets[bucket] = ((long)hash << 32) | (uint)(slot + 1);
        if (live * 2 > buckets.Length)
        {
            var old = buckets;
            buckets = new long[old.Length * 2];
            var mask = buckets.Length - 1;
            foreach (var entry in old)
            {
                if (entry != 0)
                {
                    var b = (int)(entry >> 32) & mask;
                    while (buckets[b] != 0)
                    {
                        b = (b + 1) & mask;
                    }

                    buckets[b] = entry;
                }
            }
        }
    }

    /// <summary>Takes a slot out of the index, moving back later entries of its run so no probe stops short (no tombstones).</summary>
    private void RemoveFromIndex(int slot)
    {
        var mask = buckets.Length - 1;
        var hole = hashes[slot] & mask;
        while ((int)(uint)buckets[hole] - 1 != slot)
        {
            hole = (hole + 1) & mask;
        }

        for (var b = (hole + 1) & mask; buckets[b] != 0; b = (b + 1) & mask)
        {
            // An entry may fill the hole when its home bucket is not between the hole and itself.
            var home = (int)(buckets[b] >> 32) & mask;
            if (((b - home) & mask) >= ((b - hole) & mask))
            {
                buckets[hole] = buckets[b];
                hole = b;
            }
        }

        buckets[hole] = 0;
    }

    private static ReadOnlySpan<EnrichedFlow> Rows(IReadOnlyList<EnrichedFlow> flows) => flows switch
    {
        EnrichedFlow[] array => array,
        List<EnrichedFlow> list => CollectionsMarshal.AsSpan(list),
        _ => flows.ToArray(),
    };

    /// <summary>What one <see cref="Apply(FlowBatchEnriched)"/> did.</summary>
    public struct ApplyResult
    {
        /// <summary>Flows added to a series.</summary>
        public int Applied;

        /// <summary>New series among them.</summary>
        public int Created;

        /// <summary>Flows dropped because their series would have exceeded the cap.</summary>
        public int Refused;
    }

    /// <summary>One live series, seen under the store's lock.</summary>
    public readonly ref struct SeriesView(FlowSeriesStore store, int slot)
    {
        /// <summary>The UTF-8 value of label <paramref name="dimension"/> (see <see cref="LabelNames"/>).</summary>
        public ReadOnlySpan<byte> Value(int dimension) => store.tables[dimension].Utf8(store.keys[(slot * store.dimensions) + dimension]);

        /// <summary>True for a series of flows whose counters are both directions' total.</summary>
        public bool Combined => store.combined[slot];

        public ulong Counter(int counter) => counter switch
        {
            CombinedBytes => store.counters[slot * CounterCount] + store.counters[(slot * CounterCount) + 1],
            CombinedPackets => store.counters[(slot * CounterCount) + 2] + store.counters[(slot * CounterCount) + 3],
            _ => store.counters[(slot * CounterCount) + counter],
        };
    }

    /// <summary>
    /// A batch's label ids per entry of its endpoint table (<see cref="FlowBatchEnriched.Endpoints"/>): a
    /// pod's labels are interned once per batch, and each flow finds them by its endpoints' indexes.
    /// Each id cached here holds a reference until the batch is done, so a value no series takes
    /// cannot be freed (and its id reused) under the cache. Address labels need no such cache:
    /// their table knows each address it holds for as long as it holds it.
    /// </summary>
    private sealed class BatchLabelIds(FlowSeriesStore store)
    {
        private readonly int[] sourceDimensions = Dimensions(store, FlowLabelSource.SourceEndpoint);
        private readonly int[] destinationDimensions = Dimensions(store, FlowLabelSource.DestinationEndpoint);
        private readonly List<(int Dimension, int Id)> held = [];
        private FlowEndpoint[] endpoints = [];

        // Per table entry, its label ids for the source or the destination dimensions; null until a flow needs them.
        private int[]?[] sourceIds = [];
        private int[]?[] destinationIds = [];

        public void Begin(FlowBatchEnriched batch)
        {
            endpoints = batch.Endpoints as FlowEndpoint[] ?? [.. batch.Endpoints];
            Reset(ref sourceIds, endpoints.Length);
            Reset(ref destinationIds, endpoints.Length);
        }

        public void Fill(in EnrichedFlow flow, int[] ids)
        {
            var source = endpoints[flow.SourceEndpoint];
            var destination = endpoints[flow.DestinationEndpoint];
            Endpoint(flow, source, destination, flow.SourceEndpoint, sourceIds, sourceDimensions, ids);
            Endpoint(flow, source, destination, flow.DestinationEndpoint, destinationIds, destinationDimensions, ids);
            for (var d = 0; d < ids.Length; d++)
            {
                switch (store.sources[d])
                {
                    case FlowLabelSource.Flow:
                        ids[d] = store.tables[d].Intern(store.extractors[d](flow, source, destination, store.context));
                        break;
                    case FlowLabelSource.SourceAddress:
                        ids[d] = Address(flow, source, destination, flow.Flow.SourceIp, d);
                        break;
                    case FlowLabelSource.DestinationAddress:
                        ids[d] = Address(flow, source, destination, flow.Flow.DestinationIp, d);
                        break;
                }
            }
        }

        public void Clear()
        {
            foreach (var (d, id) in held)
            {
                store.tables[d].Release(id);
            }

            held.Clear();
            endpoints = [];
        }

        /// <summary>Room for a table of <paramref name="entries"/>, all unknown; kept from batch to batch.</summary>
        private static void Reset(ref int[]?[] ids, int entries)
        {
            if (ids.Length < entries)
            {
                ids = new int[]?[Math.Max(entries, ids.Length * 2)];
            }
            else
            {
                Array.Clear(ids, 0, entries);
            }
        }

        private void Endpoint(in EnrichedFlow flow, FlowEndpoint source, FlowEndpoint destination, int entry, int[]?[] cache, int[] dimensions, int[] ids)
        {
            if (dimensions.Length == 0)
            {
                return;
            }

            var known = cache[entry];
            if (known is null)
            {
                known = new int[dimensions.Length];
                for (var k = 0; k < dimensions.Length; k++)
                {
                    known[k] = Hold(dimensions[k], store.extractors[dimensions[k]](flow, source, destination, store.context));
                }

                cache[entry] = known;
            }

            for (var k = 0; k < dimensions.Length; k++)
            {
                ids[dimensions[k]] = known[k];
            }
        }

        private int Address(in EnrichedFlow flow, FlowEndpoint source, FlowEndpoint destination, IpAddr address, int d)
        {
            var table = store.tables[d];
            return table.IdOf(address) is { } id ? id : table.Intern(store.extractors[d](flow, source, destination, store.context), address);
        }

        private int Hold(int d, string value)
        {
            var id = store.tables[d].Intern(value);
            store.tables[d].AddRef(id);
            held.Add((d, id));
            return id;
        }

        private static int[] Dimensions(FlowSeriesStore store, FlowLabelSource source) =>
            [.. Enumerable.Range(0, store.dimensions).Where(d => store.sources[d] == source)];
    }

    /// <summary>
    /// The distinct values of one label, each stored once with its UTF-8 bytes and counted by the
    /// series that use it, so values of series that expired (pods long gone) are freed too.
    /// </summary>
    private sealed class ValueTable
    {
        private const int RecentSize = 256;

        private readonly Dictionary<string, int> ids = new(StringComparer.Ordinal);
        private readonly Dictionary<IpAddr, int> addressIds = [];
        private readonly Stack<int> free = new();

        // Values come back as the same string objects flow after flow ("TCP", "false",
        // "private") and endpoint after endpoint (a batch holds each namespace, node and zone
        // name once): found by identity, they are not hashed and compared again. An entry
        // holds while its id has not been freed since (the id's generation is unchanged).
        private readonly (string? Text, int Id, int Generation)[] recent = new (string?, int, int)[RecentSize];
        private string?[] texts = new string?[16];
        private byte[]?[] utf8 = new byte[]?[16];
        private int[] refs = new int[16];
        private int[] generations = new int[16];
        private IpAddr?[] addresses = new IpAddr?[16];
        private int count;

        public int Count => ids.Count;

        /// <summary>The id of the value made from <paramref name="address"/>, while the table holds it.</summary>
        public int? IdOf(IpAddr address) => addressIds.TryGetValue(address, out var id) ? id : null;

        /// <summary>Interns the value of an address label, remembering the address it came from.</summary>
        public int Intern(string value, IpAddr address)
        {
            var id = Intern(value);
            if (addresses[id] is null)
            {
                addresses[id] = address;
                addressIds[address] = id;
            }

            return id;
        }

        public int Intern(string value)
        {
            ref var cached = ref recent[RuntimeHelpers.GetHashCode(value) & (RecentSize - 1)];
            if (ReferenceEquals(cached.Text, value) && generations[cached.Id] == cached.Generation)
            {
                return cached.Id;
            }

            ref var id = ref CollectionsMarshal.GetValueRefOrAddDefault(ids, value, out var exists);
            if (exists)
            {
                cached = (value, id, generations[id]);
                return id;
            }

            if (!free.TryPop(out id))
            {
                id = count++;
                if (id == refs.Length)
                {
                    Array.Resize(ref texts, refs.Length * 2);
                    Array.Resize(ref utf8, refs.Length * 2);
                    Array.Resize(ref addresses, refs.Length * 2);
                    Array.Resize(ref generations, refs.Length * 2);
                    Array.Resize(ref refs, refs.Length * 2);
                }
            }

            texts[id] = value;
            utf8[id] = Encoding.UTF8.GetBytes(value);
            refs[id] = 0;
            cached = (value, id, generations[id]);
            return id;
        }

        public void AddRef(int id) => refs[id]++;

        public void Release(int id)
        {
            if (--refs[id] == 0)
            {
                Free(id);
            }
        }

        public void ReleaseIfUnused(int id)
        {
            if (refs[id] == 0)
            {
                Free(id);
            }
        }

        public ReadOnlySpan<byte> Utf8(int id) => utf8[id];

        private void Free(int id)
        {
            // Recent entries naming this id no longer hold.
            generations[id]++;
            ids.Remove(texts[id]!);
            if (addresses[id] is { } address)
            {
                addressIds.Remove(address);
                addresses[id] = null;
            }

            texts[id] = null;
            utf8[id] = null;
            free.Push(id);
        }
    }
}
