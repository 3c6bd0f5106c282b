using System.Runtime.InteropServices;
using Egressd.Collector.Flows;
using Egressd.Collector.Pods;
using Egressd.Shared.Network;

namespace Egressd.Collector.Conntrack;

/// <summary>
/// Turns conntrack entries into deltas per flow key (source, destination, original destination,
/// protocol), from the local pod's point of view, added straight to the pending flows.
/// <list type="bullet">
/// <item>Each entry's last counters are kept, so a read yields what happened since the previous one;
/// counters lower than last time mean a new entry under the same key, counted from zero.</item>
/// <item>The destination is the reply tuple's source (after DNAT: the backend pod), the original
/// destination is kept when DNAT changed it (a service address), and the entry is also counted
/// mirrored, from the answering side.</item>
/// <item>A destroy event brings an entry's final counters: its last delta is counted and the entry is
/// tombstoned so a dump still listing it cannot count it again.</item>
/// <item>Entries no dump lists any more are forgotten, so memory follows the live table.</item>
/// </list>
/// Steady state allocates nothing per entry: keys are structs and dictionaries keep their capacity.
/// </summary>
internal sealed class ConntrackReducer(ILocalPods localPods, CidrSet privateNetworks, bool groupPublicDestinations, PendingFlows pending)
    : IConntrackEntrySink
{
    private static readonly IpAddr PublicV4 = IpAddr.Parse("0.0.0.0");
    private static readonly IpAddr PublicV6 = IpAddr.Parse("::");

    private readonly Dictionary<ulong, EntryState> entries = [];
    private readonly Dictionary<ulong, uint> tombstones = [];
    private uint generation;

    /// <summary>Where the deltas go.</summary>
    public PendingFlows Pending => pending;

    /// <summary>Entries the last dump listed.</summary>
    public int DumpedEntries { get; private set; }

    /// <summary>Of those, entries with a local pod at either end.</summary>
    public int ActiveEntries { get; private set; }

    /// <summary>Of those, entries the kernel sent counters for (none when accounting is off).</summary>
    public int EntriesWithCounters { get; private set; }

    /// <summary>Destroy events applied since the reducer was made.</summary>
    public long DestroyEvents { get; private set; }

    /// <summary>Entries the reducer is tracking.</summary>
    public int TrackedEntries => entries.Count;

    public void BeginDump()
    {
        generation++;
        DumpedEntries = 0;
        ActiveEntries = 0;
        EntriesWithCounters = 0;
    }

    public void OnEntry(in ConntrackEntry entry)
    {
        if (entry.Destroyed)
        {
            OnDestroyed(entry);
        }
        else
        {
            OnDumped(entry);
        }
    }

    /// <summary>Forgets entries this dump no longer listed, and tombstones older than it.</summary>
    public void EndDump()
    {
        foreach (var (key, state) in entries)
        {
            if (state.Generation != generation)
            {
                entries.Remove(key);
            }
        }

        foreach (var (key, destroyedAt) in tombstones)
        {
            if (destroyedAt < generation)
            {
                tombstones.Remove(key);
            }
        }
    }

    private void OnDumped(in ConntrackEntry entry)
    {
        DumpedEntries++;
        var key = Fingerprint(entry);
        if (tombstones.ContainsKey(key))
        {
            // Already counted to its end by its destroy event.
            return;
        }

        if (entry.HasCounters)
        {
            EntriesWithCounters++;
        }

        ref var state = ref CollectionsMarshal.GetValueRefOrAddDefault(entries, key, out var known);
        if (!localPods.Contains(entry.Original.Source) && !localPods.Contains(entry.Reply.Source))
        {
            // No local pod at either end, yet: a pod that has just started may not be known for
            // a moment. Its baseline stays where it was (zero for a new entry), so once the pod is
            // known its traffic since the entry began is counted, not lost.
            state = known ? state with { Generation = generation } : new EntryState(default, default, generation);
            return;
        }

        ActiveEntries++;
        var (original, reply) = Delta(known, state, entry);
        state = new EntryState(entry.OriginalCounters, entry.ReplyCounters, generation);
        Account(entry, original, reply);
    }

    private void OnDestroyed(in ConntrackEntry entry)
    {
        DestroyEvents++;
        var key = Fingerprint(entry);
        if (tombstones.ContainsKey(key))
        {
            return;
        }

        var known = entries.Remove(key, out var state);
        tombstones[key] = generation;
        if (!entry.HasCounters)
        {
            return;
        }

        var (original, reply) = Delta(known, state, entry);
        Account(entry, original, reply);
    }

    private static (ConntrackCounters Original, ConntrackCounters Reply) Delta(bool known, in EntryState last, in ConntrackEntry entry)
    {
        var o = entry.OriginalCounters;
        var r = entry.ReplyCounters;
        if (!known || o.Bytes < last.Original.Bytes || o.Packets < last.Original.Packets
            || r.Bytes < last.Reply.Bytes || r.Packets < last.Reply.Packets)
        {
            // New, or counters went backwards: a new entry under the same key, counted from zero.
            return (o, r);
        }

        return (new ConntrackCounters(o.Packets - last.Original.Packets, o.Bytes - last.Original.Bytes),
            new ConntrackCounters(r.Packets - last.Reply.Packets, r.Bytes - last.Reply.Bytes));
    }

    private void Account(in ConntrackEntry entry, ConntrackCounters original, ConntrackCounters reply)
    {
        if (original.Packets == 0 && reply.Packets == 0 && original.Bytes == 0 && reply.Bytes == 0)
        {
            return;
        }

        var initiator = entry.Original.Source;
        var peer = entry.Reply.Source;
        var asked = entry.Original.Destination;
        var protocol = entry.Original.Protocol;
        Add(initiator, peer, asked == peer ? IpAddr.None : asked, protocol, original, reply);
        Add(peer, initiator, IpAddr.None, protocol, reply, original);
    }

    private void Add(IpAddr source, IpAddr destination, IpAddr originalDestination, byte protocol, ConntrackCounters tx, ConntrackCounters rx)
    {
        if (!localPods.Contains(source))
        {
            return;
        }

        if (groupPublicDestinations && !privateNetworks.Contains(destination))
        {
            destination = destination.IsV4 ? PublicV4 : PublicV6;
        }

        pending.Add(new FlowKey(source, destination, originalDestination, protocol), new FlowCounters(tx.Bytes, rx.Bytes, tx.Packets, rx.Packets));
    }

    /// <summary>
    /// An entry's identity in 8 bytes instead of 48: its kernel id and original tuple, mixed into
    /// 64 bits. Two live entries share a fingerprint with odds of about n²/2⁶⁵ (10⁻⁹ at 250,000).
    /// </summary>
    private static ulong Fingerprint(in ConntrackEntry entry)
    {
        ref readonly var t = ref entry.Original;
        var h = Mix(0x9E3779B97F4A7C15UL ^ entry.Id);
        h = Mix(h ^ t.Source.Hi);
        h = Mix(h ^ t.Source.Lo);
        h = Mix(h ^ t.Destination.Hi);
        h = Mix(h ^ t.Destination.Lo);
        return Mix(h ^ t.Protocol ^ ((ulong)t.SourcePort << 8) ^ ((ulong)t.DestinationPort << 24) ^ ((ulong)t.Zone << 40) ^ ((ulong)entry.Zone << 56));
    }

    // MurmurHash3's 64-bit finalizer: every input bit moves every output bit.
    private static ulong Mix(ulong k)
    {
        k ^= k >> 33;
        k *= 0xFF51AFD7ED558CCDUL;
        k ^= k >> 33;
        k *= 0xC4CEB9FE1A85EC53UL;
        k ^= k >> 33;
        return k;
    }

    private readonly record struct EntryState(ConntrackCounters Original, ConntrackCounters Reply, uint Generation);
}
