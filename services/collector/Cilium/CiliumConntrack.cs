using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Egressd.Collector.Flows;
using Egressd.Contracts;

namespace Egressd.Collector.Cilium;

/// <summary>
/// Cilium's global conntrack maps (TCP and "any", IPv4 and IPv6) read as <see cref="ConntrackEntry"/>
/// values, so the netfilter path's reducer, pod filter and grouping apply unchanged.
/// <para>What Cilium's entries mean, checked against copies of bpf/lib/common.h (struct ct_entry
/// moved to bpf/lib/conntrack.h in the newest source) and pkg/maps/ctmap from 1.14 to the newest
/// release, dated by the source's own "unused since" notes, not tag by tag (docs/COLLECTOR.md, Cilium nodes):</para>
/// <list type="bullet">
/// <item>Key (<c>ipv4_ct_tuple</c> 14 bytes, <c>ipv6_ct_tuple</c> 38, packed): daddr, saddr, dport,
/// sport, nexthdr, flags. The address fields are stored reversed (a known quirk of Cilium's tuples,
/// which egressd reads the same way): "daddr" holds the connection's source, "saddr" its destination;
/// the port fields are named for the original direction. Ports are big-endian. nexthdr 0 marks no entry.</item>
/// <item>Flags: TUPLE_F_OUT 0 (made when a local endpoint sent the first packet), TUPLE_F_IN 1
/// (made when one received it), TUPLE_F_RELATED 2 (lets ICMP errors of a connection through),
/// TUPLE_F_SERVICE 4 (the load balancer's entry for the service address).</item>
/// <item>Value (<c>ct_entry</c>, 56 bytes in every release): four u64 at offsets 0, 8, 16, 24, then
/// the u32 lifetime at 32. Up to 1.15 they are rx_packets, rx_bytes (backend_id in service entries),
/// tx_packets, tx_bytes, where tx is what the local endpoint sent. From 1.16 (Cilium merged the two
/// directions' counters) they are reserved0, backend_id, packets, bytes, one pair for both directions; since 1.18 offset 40 is
/// reserved instead of ifindex, and the newest source overlays a NAT address on the first 16 bytes
/// and a NAT port on offset 40 of egress (OUT) entries, never of IN ones. None of these changes the
/// size, so the layout is a setting, or told apart by the entries. Bytes 0–15 of a connection's
/// entry are unused from 1.16 on (the NAT address aside), so figures there that are a received
/// count mean separate counters: a non-zero first field in an IN entry (which is made by a
/// received packet, and never carries a NAT address); IN entries whose first two fields are zero
/// mean combined ones. Where no IN entry tells (a node whose pods only call out), an OUT entry
/// whose first field is a packet count of the second, a byte count, does (an answered outbound
/// connection).</item>
/// </list>
/// Counted once: service and related entries are skipped (the OUT entry carries the connection's
/// bytes); an IN entry whose OUT twin is in the same map is the same connection between two pods of
/// this node, seen from its other end, and is skipped too (the reducer credits both ends from the
/// OUT entry).
/// </summary>
[SupportedOSPlatform("linux")]
internal sealed class CiliumConntrack : ICiliumEntryVisitor
{
    public const string GlobalsDirectory = "tc/globals";

    private const byte TupleIn = 1;
    private const byte TupleRelated = 2;
    private const byte TupleService = 4;

    // No packet is shorter than an IPv4 header; none at tc is longer than a 512 KiB BIG TCP
    // aggregate. A NAT address read as rx_packets and rx_bytes is out of these bounds unless
    // most of its bytes are zero where addresses rarely are.
    private const ulong MinPacketBytes = 20;
    private const ulong MaxPacketBytes = 1 << 20;

    private readonly CiliumClock clock;
    private readonly CiliumCounterLayout configured;
    // Every OUT tuple of the map being read, appended as read: a hash set of them cost more than
    // the rest of decoding together (docs/BENCHMARKS.md). Twins are found after the read, from the
    // IN side, which is looked up by a 64-bit fingerprint and then compared whole.
    private readonly List<TwinKey> outTuples = [];
    private readonly List<Deferred> deferredIn = [];
    private readonly Dictionary<ulong, int> inByFingerprint = [];
    private readonly List<int> inOverflow = [];
    private IConntrackEntrySink? sink;
    private bool ipv6;
    private bool scanning;
    private int splitEvidence;
    private int combinedEvidence;
    private int answeredOutEvidence;

    public CiliumConntrack(string bpfRoot, CiliumCounterLayout layout, CiliumClock clock)
    {
        var globals = Path.Combine(bpfRoot, GlobalsDirectory);
        Maps =
        [
            new CiliumCtMap(Path.Combine(globals, "cilium_ct4_global"), ipv6: false),
            new CiliumCtMap(Path.Combine(globals, "cilium_ct_any4_global"), ipv6: false),
            new CiliumCtMap(Path.Combine(globals, "cilium_ct6_global"), ipv6: true),
            new CiliumCtMap(Path.Combine(globals, "cilium_ct_any6_global"), ipv6: true),
        ];
        configured = layout;
        Layout = layout;
        this.clock = clock;
    }

    /// <summary>
    /// Starts from the layout a previous process had told (from its restart checkpoint), so the
    /// first read after a restart reads the checkpoint's entries the way their counters were
    /// saved, even before an entry tells the layout again. A setting other than Auto wins.
    /// </summary>
    public void Seed(CiliumCounterLayout layout)
    {
        if (configured == CiliumCounterLayout.Auto && Layout == CiliumCounterLayout.Auto)
        {
            Layout = layout;
        }
    }

    /// <summary>True where Cilium's maps live under <paramref name="bpfRoot"/>: how egressd recognises a Cilium node.</summary>
    public static bool IsPresent(string bpfRoot) => Directory.Exists(Path.Combine(bpfRoot, GlobalsDirectory));

    public IReadOnlyList<CiliumCtMap> Maps { get; }

    /// <summary>The layout the entries are read with: <see cref="CiliumCounterLayout.Auto"/> until the entries have told.</summary>
    public CiliumCounterLayout Layout { get; private set; }

    public CiliumClock Clock => clock;

    /// <summary>Maps found at the last dump.</summary>
    public int MapsFound { get; private set; }

    /// <summary>Entries in the maps at the last dump (nexthdr 0 aside).</summary>
    public int Entries { get; private set; }

    public int ServiceEntries { get; private set; }

    public int RelatedEntries { get; private set; }

    /// <summary>IN entries skipped because their OUT twin carries the same connection.</summary>
    public int TwinEntries { get; private set; }

    /// <summary>Reads every map once, passing each connection's entry to the sink.</summary>
    public void Dump(IConntrackEntrySink target)
    {
        clock.Refresh();
        sink = target;
        MapsFound = 0;
        Entries = 0;
        ServiceEntries = 0;
        RelatedEntries = 0;
        TwinEntries = 0;
        foreach (var map in Maps)
        {
            outTuples.Clear();
            deferredIn.Clear();
            splitEvidence = 0;
            combinedEvidence = 0;
            answeredOutEvidence = 0;
            ipv6 = map.IsIPv6;
            if (Layout == CiliumCounterLayout.Auto)
            {
                // Until the entries have told the layout, a first pass only looks at them, so no
                // entry is read with the wrong one. Once told, one pass a read.
                scanning = true;
                try
                {
                    if (!map.Read(this))
                    {
                        continue;
                    }
                }
                finally
                {
                    scanning = false;
                }

                Decide();
            }

            if (!map.Read(this))
            {
                continue;
            }

            MapsFound++;
            Decide();

            MarkTwins();
            foreach (ref var d in CollectionsMarshal.AsSpan(deferredIn))
            {
                if (d.Twin)
                {
                    TwinEntries++;
                    continue;
                }

                SetCounters(ref d.Entry, isIn: true, d.F0, d.F1, d.F2, d.F3);
                target.OnEntry(d.Entry);
            }
        }

        sink = null;
    }

    /// <summary>Marks each deferred IN entry whose OUT twin (same original tuple) was read from the map.</summary>
    private void MarkTwins()
    {
        if (deferredIn.Count == 0 || outTuples.Count == 0)
        {
            return;
        }

        inByFingerprint.Clear();
        inOverflow.Clear();
        var ins = CollectionsMarshal.AsSpan(deferredIn);
        for (var i = 0; i < ins.Length; i++)
        {
            if (!inByFingerprint.TryAdd(new TwinKey(ins[i].Entry.Original).Fingerprint(), i))
            {
                // Two IN tuples with one fingerprint: rare enough to check by hand.
                inOverflow.Add(i);
            }
        }

        foreach (ref readonly var o in CollectionsMarshal.AsSpan(outTuples))
        {
            if (inByFingerprint.TryGetValue(o.Fingerprint(), out var i) && new TwinKey(ins[i].Entry.Original) == o)
            {
                ins[i].Twin = true;
            }

            foreach (var j in inOverflow)
            {
                if (new TwinKey(ins[j].Entry.Original) == o)
                {
                    ins[j].Twin = true;
                }
            }
        }
    }

    private void Decide()
    {
        if (configured == CiliumCounterLayout.Auto)
        {
            // IN entries tell first; an answered OUT entry decides only where none has.
            Layout = splitEvidence > 0 ? CiliumCounterLayout.Split
                : combinedEvidence > 0 ? CiliumCounterLayout.Combined
                : answeredOutEvidence > 0 ? CiliumCounterLayout.Split
                : Layout;
        }

        splitEvidence = 0;
        combinedEvidence = 0;
        answeredOutEvidence = 0;
    }

    public void OnEntry(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
    {
        var a = ipv6 ? 16 : 4;
        var nexthdr = key[(2 * a) + 4];
        var flags = key[(2 * a) + 5];
        if (nexthdr == 0)
        {
            return;
        }

        if (scanning)
        {
            if ((flags & (TupleIn | TupleRelated | TupleService)) == TupleIn)
            {
                Count(MemoryMarshal.Read<ulong>(value), MemoryMarshal.Read<ulong>(value[8..]));
            }
            else if ((flags & (TupleIn | TupleService)) == 0)
            {
                CountOut(MemoryMarshal.Read<ulong>(value), MemoryMarshal.Read<ulong>(value[8..]));
            }

            return;
        }

        Entries++;
        if ((flags & TupleService) != 0)
        {
            ServiceEntries++;
            return;
        }

        if ((flags & TupleRelated) != 0)
        {
            RelatedEntries++;
            return;
        }

        var source = ipv6 ? IpAddr.FromV6(key[..16]) : IpAddr.FromV4(key[..4]);
        var destination = ipv6 ? IpAddr.FromV6(key.Slice(16, 16)) : IpAddr.FromV4(key.Slice(4, 4));
        var destinationPort = BinaryPrimitives.ReadUInt16BigEndian(key[(2 * a)..]);
        var sourcePort = BinaryPrimitives.ReadUInt16BigEndian(key[((2 * a) + 2)..]);
        var f0 = MemoryMarshal.Read<ulong>(value);
        var f1 = MemoryMarshal.Read<ulong>(value[8..]);
        var f2 = MemoryMarshal.Read<ulong>(value[16..]);
        var f3 = MemoryMarshal.Read<ulong>(value[24..]);
        var lifetime = MemoryMarshal.Read<uint>(value[32..]);
        var entry = new ConntrackEntry
        {
            Original = new ConntrackTuple { Source = source, Destination = destination, Protocol = nexthdr, SourcePort = sourcePort, DestinationPort = destinationPort },
            Reply = new ConntrackTuple { Source = destination, Destination = source, Protocol = nexthdr, SourcePort = destinationPort, DestinationPort = sourcePort },

            // Cilium keeps no entry id; the flags keep the IN and OUT entries of one tuple apart.
            Id = flags,
            Status = MemoryMarshal.Read<ushort>(value[36..]),
            TimeoutSeconds = (uint)Math.Clamp(clock.SecondsLeft(lifetime), 0, uint.MaxValue),
        };

        if ((flags & TupleIn) != 0)
        {
            Count(f0, f1);
            deferredIn.Add(new Deferred(entry, f0, f1, f2, f3));
            return;
        }

        CountOut(f0, f1);
        outTuples.Add(new TwinKey(entry.Original));
        SetCounters(ref entry, isIn: false, f0, f1, f2, f3);
        sink!.OnEntry(entry);
    }

    private void Count(ulong f0, ulong f1)
    {
        if (f0 != 0)
        {
            splitEvidence++;
        }
        else if (f1 == 0)
        {
            combinedEvidence++;
        }
    }

    /// <summary>
    /// An OUT entry's first two fields are rx_packets and rx_bytes up to 1.15, zero from 1.16 on,
    /// or in the newest source the NAT address of an egress entry. Only a received count tells:
    /// an IPv4 NAT address leaves the second field zero, and an IPv6 one reads as far more bytes a
    /// packet than any packet has. Zeros say nothing: an outbound connection may have had no answer yet.
    /// </summary>
    private void CountOut(ulong f0, ulong f1)
    {
        if (f0 != 0 && f0 <= ulong.MaxValue / MaxPacketBytes && f1 >= f0 * MinPacketBytes && f1 <= f0 * MaxPacketBytes)
        {
            answeredOutEvidence++;
        }
    }

    /// <summary>
    /// Separate counters are the local endpoint's rx and tx, so they map to the connection's
    /// directions by the entry's flag. Combined ones cannot be split: they are carried as the
    /// original direction's, and every batch says so (<see cref="CiliumFlowReader.CounterDirections"/>).
    /// While no entry has told the layout (a node whose pods only open connections that have had
    /// no answer yet) an entry is read as combined, which for an OUT entry of either layout reads
    /// what it sent correctly and its replies, none so far, as zero.
    /// </summary>
    private void SetCounters(ref ConntrackEntry entry, bool isIn, ulong f0, ulong f1, ulong f2, ulong f3)
    {
        if (Layout == CiliumCounterLayout.Split)
        {
            var rx = new ConntrackCounters(f0, f1);
            var tx = new ConntrackCounters(f2, f3);
            entry.OriginalCounters = isIn ? rx : tx;
            entry.ReplyCounters = isIn ? tx : rx;
            entry.HasCounters = (f0 | f1 | f2 | f3) != 0;
        }
        else
        {
            entry.OriginalCounters = new ConntrackCounters(f2, f3);
            entry.ReplyCounters = default;
            entry.HasCounters = (f2 | f3) != 0;
        }
    }

    private readonly record struct TwinKey(IpAddr Source, IpAddr Destination, ushort SourcePort, ushort DestinationPort, byte Protocol)
    {
        public TwinKey(in ConntrackTuple t)
            : this(t.Source, t.Destination, t.SourcePort, t.DestinationPort, t.Protocol)
        {
        }

        public ulong Fingerprint()
        {
            var h = Mix(Source.Hi ^ 0x9E3779B97F4A7C15UL);
            h = Mix(h ^ Source.Lo);
            h = Mix(h ^ Destination.Hi);
            h = Mix(h ^ Destination.Lo);
            return Mix(h ^ SourcePort ^ ((ulong)DestinationPort << 16) ^ ((ulong)Protocol << 32));
        }

        // MurmurHash3's 64-bit finalizer.
        private static ulong Mix(ulong k)
        {
            k ^= k >> 33;
            k *= 0xFF51AFD7ED558CCDUL;
            k ^= k >> 33;
            k *= 0xC4CEB9FE1A85EC53UL;
            return k ^ (k >> 33);
        }
    }

    private struct Deferred(ConntrackEntry entry, ulong f0, ulong f1, ulong f2, ulong f3)
    {
        public ConntrackEntry Entry = entry;
        public readonly ulong F0 = f0;
        public readonly ulong F1 = f1;
        public readonly ulong F2 = f2;
        public readonly ulong F3 = f3;
        public bool Twin;
    }
}
