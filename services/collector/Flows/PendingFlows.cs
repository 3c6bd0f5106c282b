using System.Runtime.InteropServices;
using Egressd.Contracts;
using Egressd.Shared.Wire;

namespace Egressd.Collector.Flows;

/// <summary>
/// The one place the collector sums traffic: deltas read but not yet part of a window, per flow
/// key. Deltas per key are additive, so however long the broker is away this holds one entry per
/// distinct key, never one per read. Wire records are built only when a window is frozen.
/// <para>
/// Distinct keys are capped, since an outage of the broker during a scan or a flood of short
/// connections to ever new destinations would otherwise grow memory without bound. Past
/// <see cref="MaxKeys"/> a new key keeps its bytes but loses detail, in steps that each bound the
/// next: its destination becomes that address's /24 (IPv4) or /64 (IPv6) network, the common size
/// of a node's pod range, with the original destination dropped; past an eighth more keys, the
/// destination becomes <c>0.0.0.0</c> / <c>::</c> (as <c>GroupPublicDestinations</c> reports it);
/// past a quarter more, the source too. So the map never holds more than 1.25 × <see cref="MaxKeys"/>
/// plus one key per protocol and family. Keys already present keep summing in full detail.
/// </para>
/// <para>
/// Folds are counted on the host's <paramref name="metrics"/>; without them (the <c>dump</c>
/// command, a test of something else) only <see cref="FoldedDeltas"/> says so.
/// </para>
/// </summary>
public sealed class PendingFlows(int maxKeys = PendingFlows.DefaultMaxKeys, CollectorMetrics? metrics = null)
{
    public const int DefaultMaxKeys = 500_000;

    private static readonly IpAddr AnyV4 = IpAddr.FromV4(0);

    private readonly FlowCounterDictionary flows = new();

    // One part's records while it is encoded, kept from window to window rather than made anew each time.
    private FlowRecord[] partBuffer = [];
    private readonly Dictionary<(IpAddr Ip, string Name), DateTimeOffset> dns = [];

    // Owners of node addresses (hostNetwork pods, systemd units) by FlowKey.Owner, 0 being none.
    // Kept for the process's life: their number is the node's hostNetwork pods and units, not its traffic.
    private readonly List<(string? Pod, string? Unit)> owners = [(null, null)];
    private readonly Dictionary<(string? Pod, string? Unit), ushort> ownerIds = [];

    /// <summary>
    /// The <see cref="FlowKey.Owner"/> of a node address's flows carried by <paramref name="pod"/>
    /// (<c>namespace/name</c>) or the node's <paramref name="unit"/>; 0 for neither.
    /// </summary>
    public ushort Owner(string? pod, string? unit)
    {
        if (pod is null && unit is null)
        {
            return 0;
        }

        if (!ownerIds.TryGetValue((pod, unit), out var id))
        {
            if (owners.Count > ushort.MaxValue)
            {
                // More owners than a key holds: the rest go to the node, bytes kept.
                return 0;
            }

            id = (ushort)owners.Count;
            owners.Add((pod, unit));
            ownerIds[(pod, unit)] = id;
        }

        return id;
    }

    /// <summary>What <see cref="Owner"/> handed out <paramref name="id"/> for.</summary>
    public (string? Pod, string? Unit) OwnerOf(ushort id) => id < owners.Count ? owners[id] : default;

    public int KeyCount => flows.Count;

    /// <summary>Distinct keys kept in full detail; new keys past it are folded into grouped ones.</summary>
    public int MaxKeys { get; } = maxKeys;

    /// <summary>Deltas folded into a grouped key since the last <see cref="Freeze"/>.</summary>
    public long FoldedDeltas { get; private set; }

    /// <summary>Bytes (both directions) of those deltas.</summary>
    public ulong FoldedBytes { get; private set; }

    public bool IsEmpty => flows.Count == 0 && dns.Count == 0;

    /// <summary>Bytes of every pending key, both directions (for a log line: it walks the keys).</summary>
    public ulong Bytes()
    {
        ulong bytes = 0;
        foreach (var (_, counters) in flows)
        {
            bytes += counters.TxBytes + counters.RxBytes;
        }

        return bytes;
    }

    /// <summary>Adds traffic of one key; nothing is kept for a delta of zero.</summary>
    public void Add(in FlowKey key, FlowCounters delta)
    {
        if (delta.IsZero)
        {
            return;
        }

        if (flows.Count >= MaxKeys && !flows.ContainsKey(key))
        {
            var grouped = Fold(key);
            FoldedDeltas++;
            FoldedBytes += delta.TxBytes + delta.RxBytes;
            metrics?.FoldedDeltas.Inc();
            metrics?.FoldedBytes.Inc(delta.TxBytes + delta.RxBytes);
            ref var groupedSum = ref flows.GetValueRefOrAddDefault(grouped, out _);
            groupedSum = groupedSum.Add(delta);
            return;
        }

        ref var sum = ref flows.GetValueRefOrAddDefault(key, out _);
        sum = sum.Add(delta);
    }

    /// <summary>The grouped key a new key goes to when the map is full: the least detail lost that still fits.</summary>
    private FlowKey Fold(in FlowKey key)
    {
        var network = key with { Destination = Network(key.Destination), OriginalDestination = IpAddr.None };
        if (flows.Count < MaxKeys + (MaxKeys / 8) || flows.ContainsKey(network))
        {
            return network;
        }

        var perSource = network with { Destination = Any(key.Destination) };
        if (flows.Count < MaxKeys + (MaxKeys / 4) || flows.ContainsKey(perSource))
        {
            return perSource;
        }

        return perSource with { Source = Any(key.Source) };
    }

    private static IpAddr Network(IpAddr address) =>
        address.IsV4 ? address with { Lo = address.Lo & ~0xFFUL } : address with { Lo = 0 };

    private static IpAddr Any(IpAddr address) => address.IsV4 ? AnyV4 : IpAddr.None;

    private FlowRecord[] PartBuffer(int size)
    {
        if (partBuffer.Length < size)
        {
            partBuffer = new FlowRecord[size];
        }

        return partBuffer;
    }

    /// <summary>Room for the keys of <paramref name="like"/>, made at once (a source that knows its keys up front).</summary>
    public void EnsureCapacity(FlowCounterDictionary like) => flows.EnsureCapacity(like);

    /// <summary>A DNS answer seen; the later expiry wins when the same answer comes again.</summary>
    public void AddDnsAnswer(IpAddr ip, string name, DateTimeOffset expiresAt)
    {
        ref var expires = ref CollectionsMarshal.GetValueRefOrAddDefault(dns, (ip, name), out var known);
        if (!known || expiresAt > expires)
        {
            expires = expiresAt;
        }
    }

    /// <summary>The counters summed so far, per key.</summary>
    public IReadOnlyDictionary<FlowKey, FlowCounters> Flows => flows;

    /// <summary>
    /// Closes the pending deltas into one window, [<paramref name="start"/>, <paramref name="end"/>],
    /// cut into parts of at most <paramref name="maxFlowsPerPart"/> flows, and starts over empty.
    /// <paramref name="directions"/> is what the source's counters mean (the reader's, as of now).
    /// </summary>
    public IReadOnlyList<FlowBatchCollected> Freeze(
        string node, string bootId, long window, FlowSource source, DateTimeOffset start, DateTimeOffset end, int maxFlowsPerPart,
        FlowCounterDirections directions = FlowCounterDirections.Separate) =>
        Freeze(node, bootId, window, source, start, end, maxFlowsPerPart, directions, reuse: false, batch => batch);

    /// <summary>
    /// <see cref="Freeze"/> with each part encoded as it is cut (what the window publisher holds):
    /// the parts' records are built one part at a time in one reused array, so a window never
    /// exists as records whole.
    /// </summary>
    public IReadOnlyList<EncodedFlowBatch> FreezeEncoded(
        string node, string bootId, long window, FlowSource source, DateTimeOffset start, DateTimeOffset end, int maxFlowsPerPart,
        FlowCounterDirections directions = FlowCounterDirections.Separate) =>
        Freeze(node, bootId, window, source, start, end, maxFlowsPerPart, directions, reuse: true, EncodedFlowBatch.Encode);

    private List<TPart> Freeze<TPart>(
        string node, string bootId, long window, FlowSource source, DateTimeOffset start, DateTimeOffset end, int maxFlowsPerPart,
        FlowCounterDirections directions, bool reuse, Func<FlowBatchCollected, TPart> cut)
    {
        var count = flows.Count;
        var answers = dns.Where(d => d.Value > end)
            .Select(d => new DnsAnswer { Ip = d.Key.Ip, Name = d.Key.Name, ExpiresAt = d.Value })
            .ToList();

        var partCount = Math.Max(1, (count + maxFlowsPerPart - 1) / maxFlowsPerPart);
        var parts = new List<TPart>(partCount);
        var buffer = reuse ? PartBuffer(Math.Min(count, maxFlowsPerPart)) : null;
        using var keys = flows.GetEnumerator();
        for (var part = 0; part < partCount; part++)
        {
            var size = Math.Min(maxFlowsPerPart, count - (part * maxFlowsPerPart));
            var records = buffer ?? new FlowRecord[size];
            for (var i = 0; i < size && keys.MoveNext(); i++)
            {
                var (key, c) = keys.Current;
                var (pod, unit) = key.Owner == 0 ? default : OwnerOf(key.Owner);
                records[i] = new FlowRecord
                {
                    SourcePod = pod,
                    SourceUnit = unit,
                    SourceIp = key.Source,
                    DestinationIp = key.Destination,
                    OriginalDestinationIp = key.OriginalDestination.IsNone ? null : key.OriginalDestination,
                    Protocol = key.Protocol,
                    TxBytes = c.TxBytes,
                    RxBytes = c.RxBytes,
                    TxPackets = c.TxPackets,
                    RxPackets = c.RxPackets,
                };
            }

            parts.Add(cut(new FlowBatchCollected
            {
                Header = new BatchHeader
                {
                    Id = new BatchId { Node = node, BootId = bootId, Window = window, Part = part, PartCount = partCount },
                    Node = node,
                    WindowStart = start,
                    WindowEnd = end,
                    Source = source,
                    CounterDirections = directions,
                },
                Flows = new ArraySegment<FlowRecord>(records, 0, size),
                // Answers are per window, not per flow: the first part carries them.
                DnsAnswers = part == 0 ? answers : [],
            }));
        }

        flows.Clear();
        dns.Clear();
        FoldedDeltas = 0;
        FoldedBytes = 0;
        return parts;
    }
}
