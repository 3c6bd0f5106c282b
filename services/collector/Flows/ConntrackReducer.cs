using System.Runtime.InteropServices;
using Egressd.Collector.HostNetwork;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Collector.Flows;

/// <summary>
/// Turns conntrack entries into deltas per flow key (source, destination, original destination,
/// protocol), from the local pod's point of view, added straight to the pending flows.
/// <list type="bullet">
/// <item>Each entry's last counters are kept, so a read yields what happened since the previous one.
/// An entry is known by its kernel id, original tuple and start time: the kernel reuses a slot, and
/// with it the id, when a client reopens the same 4-tuple, and only the start time
/// (nf_conntrack_timestamp) tells the successor from its predecessor. Without start times,
/// counters lower than last time mean a new entry under the same key, counted from zero.</item>
/// <item>The destination is the reply tuple's source (after DNAT: the backend pod), the original
/// destination is kept when DNAT changed it (a service address), and the entry is also counted
/// mirrored, from the answering side.</item>
/// <item>A destroy event brings an entry's final counters: its last delta is counted and the entry is
/// tombstoned so a dump still listing it cannot count it again. A destroy event whose counters are
/// below what was last read belongs to an earlier connection on a reused tuple (only possible without
/// start times): it neither ends nor hides the live successor.</item>
/// <item>Entries two dumps no longer listed are forgotten, so memory follows the live table; a
/// local entry's last counters are kept a while longer, so a destroy event that comes late (a
/// flush of the whole table, a collector starved of CPU) still finds what was last read.</item>
/// <item>After <see cref="Restore"/>, an entry the reducer has not seen yet may have been counted
/// by the previous process: it continues from the checkpoint's counters; one that started after the
/// checkpoint (or after this process started, without one) counts from zero; any other starts from
/// its current counters, not counted, and what that skipped is added to <see cref="UncountedBytes"/>.
/// A double count is never acceptable, a bounded and counted loss is.</item>
/// <item>With <paramref name="hostNetwork"/>, an end at one of the node's own addresses is local
/// too: the socket behind it names the hostNetwork pod (or the node's systemd unit) whose flow it
/// is, kept with the entry once known so the entry's later deltas and its destroy event go to the
/// same owner after the socket is gone. Unresolved, the end is the node's, and is looked up again.</item>
/// </list>
/// Steady state allocates nothing per entry: keys are structs and dictionaries keep their capacity.
/// </summary>
internal sealed class ConntrackReducer(
    ILocalPods localPods, PublicAddresses publicAddresses, bool groupPublicDestinations, PendingFlows pending, TimeProvider? time = null, CollectorMetrics? metrics = null,
    IHostNetworkAttribution? hostNetwork = null, HostNetworkMetrics? hostMetrics = null)
    : IConntrackEntrySink
{
    private static readonly IpAddr PublicV4 = IpAddr.Parse("0.0.0.0");
    private static readonly IpAddr PublicV6 = IpAddr.Parse("::");

    /// <summary>
    /// Dumps a forgotten entry's last counters are kept for its destroy event. An entry leaves the
    /// table the moment it ends, but its destroy event can reach the reducer several dumps later
    /// (a flush of a whole table, a collector starved of CPU); counted from zero then, everything
    /// read of it before would be counted again.
    /// </summary>
    private const uint ForgottenDumps = 16;

    private readonly TimeProvider clock = time ?? TimeProvider.System;

    private readonly Dictionary<ulong, EntryState> entries = [];
    private readonly Dictionary<ulong, uint> tombstones = [];
    private readonly Dictionary<ulong, EntryState> forgotten = [];
    private uint generation;

    // Set by Restore: what the previous process left, and from when on an entry is surely new.
    private Dictionary<ulong, CheckpointEntry>? restored;
    private ulong newSinceNanos;
    private bool restarting;
    private bool firstDumpDone;

    /// <summary>Where the deltas go.</summary>
    public PendingFlows Pending => pending;

    /// <summary>Entries the last dump listed.</summary>
    public int DumpedEntries { get; private set; }

    /// <summary>Of those, entries with a local pod at either end.</summary>
    public int ActiveEntries { get; private set; }

    /// <summary>Of those, entries the kernel sent counters for (none when accounting is off).</summary>
    public int EntriesWithCounters { get; private set; }

    /// <summary>Of the entries the last dump listed, those with a start time (nf_conntrack_timestamp on when they began).</summary>
    public int EntriesWithStart { get; private set; }

    /// <summary>Destroy events applied since the reducer was made.</summary>
    public long DestroyEvents { get; private set; }

    /// <summary>Destroy events that did not belong to the entry last read under their key (a reused tuple without start times).</summary>
    public long StaleDestroyEvents { get; private set; }

    /// <summary>Entries the reducer is tracking.</summary>
    public int TrackedEntries => entries.Count;

    /// <summary>Wall-clock nanoseconds when the last dump began: entries that started later cannot be in it.</summary>
    public ulong LastDumpStartNanos { get; private set; }

    /// <summary>Bytes (both directions) that live entries carried before a restart and that were taken as a baseline, not counted.</summary>
    public ulong UncountedBytes { get; private set; }

    /// <summary>Entries that continued from the checkpoint, counted from zero as new, or taken as a baseline after a restart.</summary>
    public (int Continued, int New, int Baseline) RestartOutcome => (continued, newSince, baselined);

    private int continued;
    private int newSince;
    private int baselined;
    private bool outcomeTaken;

    /// <summary><see cref="RestartOutcome"/> at the first call only, so a reader logs the first read's outcome once.</summary>
    public bool TakeRestartOutcome(out (int Continued, int New, int Baseline) outcome)
    {
        outcome = RestartOutcome;
        if (outcomeTaken)
        {
            return false;
        }

        outcomeTaken = true;
        return true;
    }

    /// <summary>
    /// Switches on the restart rule for entries not seen yet (see the class summary).
    /// <paramref name="checkpointEntries"/> is null when there is no usable checkpoint; then
    /// <paramref name="newSince"/> is this process's start.
    /// </summary>
    public void Restore(IEnumerable<CheckpointEntry>? checkpointEntries, DateTimeOffset newSince)
    {
        restarting = true;
        restored = [];
        foreach (var e in checkpointEntries ?? [])
        {
            restored[e.Key] = e;
        }

        newSinceNanos = ToNanos(newSince);
    }

    /// <summary>Who tells node-address flows apart, when anyone does.</summary>
    public IHostNetworkAttribution? HostNetwork => hostNetwork;

    /// <summary>Bytes (both directions) of node-address flows by how their owner was found, since the reducer was made.</summary>
    public (ulong Pod, ulong Node, ulong Unresolved) HostNetworkBytes => (hostPodBytes, hostNodeBytes, hostUnresolvedBytes);

    private ulong hostPodBytes;
    private ulong hostNodeBytes;
    private ulong hostUnresolvedBytes;

    public void BeginDump()
    {
        hostNetwork?.BeginRead();
        generation++;
        DumpedEntries = 0;
        ActiveEntries = 0;
        EntriesWithCounters = 0;
        EntriesWithStart = 0;
        LastDumpStartNanos = ToNanos(clock.GetUtcNow());
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

    /// <summary>Forgets entries the last two dumps no longer listed, and tombstones as old.</summary>
    public void EndDump()
    {
        foreach (var (key, state) in entries)
        {
            if (state.Generation + 1 < generation)
            {
                entries.Remove(key);
                if (state.Local)
                {
                    forgotten[key] = state with { Generation = generation };
                }
            }
        }

        foreach (var (key, state) in forgotten)
        {
            if (state.Generation + ForgottenDumps < generation)
            {
                forgotten.Remove(key);
            }
        }

        foreach (var (key, destroyedAt) in tombstones)
        {
            if (destroyedAt + 1 < generation)
            {
                tombstones.Remove(key);
            }
        }

        if (firstDumpDone)
        {
            // The checkpoint answers for entries of the first dump (and events just around it) only.
            restored = null;
        }

        firstDumpDone = true;
    }

    /// <summary>The counters of every entry with a local pod, as of the last read: what a checkpoint keeps.</summary>
    public IEnumerable<CheckpointEntry> CheckpointEntries()
    {
        foreach (var (key, state) in entries)
        {
            if (state.Local)
            {
                yield return new CheckpointEntry(key, state.Original, state.Reply);
            }
        }
    }

    private void OnDumped(in ConntrackEntry entry)
    {
        DumpedEntries++;
        if (entry.StartNanos != 0)
        {
            EntriesWithStart++;
        }

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

        var local = IsLocal(entry);
        DictionaryGrowth.MakeRoomForOne(entries);
        ref var state = ref CollectionsMarshal.GetValueRefOrAddDefault(entries, key, out var known);
        if (!known && forgotten.Count > 0 && forgotten.Remove(key, out var earlier))
        {
            // Listed again after two dumps without it: it goes on from what was last read.
            state = earlier;
            known = true;
        }

        if (!known && restarting)
        {
            // Seen for the first time by this process: did the last one count it?
            known = FromBeforeRestart(key, entry, local, out var baseline);
            if (known)
            {
                state = baseline with { Generation = generation };
            }
        }

        if (!local)
        {
            // No local pod at either end, yet: a pod that has just started may not be known for
            // a moment. Its baseline stays where it was (zero for a new entry), so once the pod is
            // known its traffic since the entry began is counted, not lost.
            state = known ? state with { Generation = generation } : new EntryState(default, default, generation, Local: false);
            return;
        }

        ActiveEntries++;
        var (original, reply) = Delta(known, state, entry);
        var owners = known ? state.Owners : default;
        state = new EntryState(entry.OriginalCounters, entry.ReplyCounters, generation, Local: true, Account(entry, original, reply, owners));
    }

    private bool IsLocal(in ConntrackEntry entry) =>
        localPods.Contains(entry.Original.Source) || localPods.Contains(entry.Reply.Source)
        || (hostNetwork is not null && (localPods.IsNodeAddress(entry.Original.Source) || localPods.IsNodeAddress(entry.Reply.Source)));

    private void OnDestroyed(in ConntrackEntry entry)
    {
        DestroyEvents++;
        var key = Fingerprint(entry);
        if (tombstones.ContainsKey(key))
        {
            return;
        }

        var known = entries.TryGetValue(key, out var state);
        if (!known && forgotten.Remove(key, out state))
        {
            // Gone from the table before its event came: continue from what was last read of it.
            known = true;
        }

        if (known && IsBelow(entry, state))
        {
            // Not the connection last read under this key but an earlier one on the same reused
            // tuple and id: what it carried since its own last read is unknown, and counting it
            // whole would count again what was read of it. Its live successor keeps its state.
            StaleDestroyEvents++;
            return;
        }

        if (known)
        {
            entries.Remove(key);
        }
        else if (restarting)
        {
            known = FromBeforeRestart(key, entry, IsLocal(entry), out state);
        }

        tombstones[key] = generation;
        if (entry.HasCounters)
        {
            var (original, reply) = Delta(known, state, entry);
            Account(entry, original, reply, known ? state.Owners : default);
        }

        if (hostNetwork is not null && localPods.IsNodeAddress(entry.Original.Source))
        {
            // Accounted: the cgroup remembered from its new event is needed no more.
            hostNetwork.Ended(entry.Original, entry.Id);
        }
    }

    /// <summary>
    /// The restart rule for an entry this process sees for the first time: true with the counters
    /// to continue from when the previous process may have counted it, false when it is new.
    /// </summary>
    private bool FromBeforeRestart(ulong key, in ConntrackEntry entry, bool local, out EntryState baseline)
    {
        if (restored is not null && restored.Remove(key, out var saved))
        {
            continued++;
            baseline = new EntryState(saved.Original, saved.Reply, generation, Local: true);
            return true;
        }

        if (entry.StartNanos != 0 ? entry.StartNanos >= newSinceNanos : firstDumpDone)
        {
            // Began after the checkpoint was taken (or after this process started): nobody counted it.
            // Without a start time, only entries first seen after the first dump are taken as new.
            newSince++;
            baseline = default;
            return false;
        }

        // Older than the checkpoint yet not in it, or no checkpoint at all: what it carried so far
        // may have been counted. Start from here, and say how much that leaves out.
        baselined++;
        if (local)
        {
            var skipped = entry.OriginalCounters.Bytes + entry.ReplyCounters.Bytes;
            UncountedBytes += skipped;
            metrics?.RestartUncountedBytes.Inc(skipped);
        }

        baseline = new EntryState(entry.OriginalCounters, entry.ReplyCounters, generation, local);
        return true;
    }

    private static bool IsBelow(in ConntrackEntry entry, in EntryState last) =>
        entry.OriginalCounters.Bytes < last.Original.Bytes || entry.OriginalCounters.Packets < last.Original.Packets
        || entry.ReplyCounters.Bytes < last.Reply.Bytes || entry.ReplyCounters.Packets < last.Reply.Packets;

    private static (ConntrackCounters Original, ConntrackCounters Reply) Delta(bool known, in EntryState last, in ConntrackEntry entry)
    {
        var o = entry.OriginalCounters;
        var r = entry.ReplyCounters;
        if (!known || IsBelow(entry, last))
        {
            // New, or counters went backwards: a new entry under the same key, counted from zero.
            return (o, r);
        }

        return (new ConntrackCounters(o.Packets - last.Original.Packets, o.Bytes - last.Original.Bytes),
            new ConntrackCounters(r.Packets - last.Reply.Packets, r.Bytes - last.Reply.Bytes));
    }

    /// <summary>Adds both sides' deltas; returns the owners of node-address ends as now known, for the entry to keep.</summary>
    private EntryOwners Account(in ConntrackEntry entry, ConntrackCounters original, ConntrackCounters reply, EntryOwners owners)
    {
        if (original.Packets == 0 && reply.Packets == 0 && original.Bytes == 0 && reply.Bytes == 0)
        {
            return owners;
        }

        var initiator = entry.Original.Source;
        var peer = entry.Reply.Source;
        var asked = entry.Original.Destination;
        var protocol = entry.Original.Protocol;
        var initiatorOwner = owners.Initiator;
        var peerOwner = owners.Peer;
        Add(initiator, peer, asked == peer ? IpAddr.None : asked, protocol, original, reply, entry.Original, ref initiatorOwner);
        Add(peer, initiator, IpAddr.None, protocol, reply, original, entry.Reply, ref peerOwner);
        return new EntryOwners(initiatorOwner, peerOwner);
    }

    /// <param name="tuple">The direction the source sent in, as its socket holds it (for a node address's owner).</param>
    /// <param name="owner">The source's owner when it is a node address: kept with the entry once found.</param>
    private void Add(IpAddr source, IpAddr destination, IpAddr originalDestination, byte protocol, ConntrackCounters tx, ConntrackCounters rx, in ConntrackTuple tuple, ref OwnerState owner)
    {
        ushort ownerId = 0;
        if (!localPods.Contains(source))
        {
            if (hostNetwork is null || !localPods.IsNodeAddress(source))
            {
                return;
            }

            if (!owner.Resolved)
            {
                owner = Resolve(tuple);
            }

            var bytes = tx.Bytes + rx.Bytes;
            switch (owner.Outcome)
            {
                case HostOutcome.Excluded:
                    return;
                case HostOutcome.Pod:
                    hostPodBytes += bytes;
                    hostMetrics?.Bytes.WithLabels("pod").Inc(bytes);
                    break;
                case HostOutcome.Node:
                    hostNodeBytes += bytes;
                    hostMetrics?.Bytes.WithLabels("node").Inc(bytes);
                    break;
                default:
                    hostUnresolvedBytes += bytes;
                    hostMetrics?.Bytes.WithLabels("unresolved").Inc(bytes);
                    break;
            }

            ownerId = owner.Id;
        }

        if (groupPublicDestinations && publicAddresses.Contains(destination))
        {
            destination = destination.IsV4 ? PublicV4 : PublicV6;
        }

        pending.Add(new FlowKey(source, destination, originalDestination, protocol, ownerId), new FlowCounters(tx.Bytes, rx.Bytes, tx.Packets, rx.Packets));
    }

    private OwnerState Resolve(in ConntrackTuple tuple)
    {
        var found = hostNetwork!.Resolve(tuple);
        return found.Outcome == HostOutcome.Unresolved
            ? default
            : new OwnerState(pending.Owner(found.Pod, found.Unit), found.Outcome, Resolved: true);
    }

    private static ulong ToNanos(DateTimeOffset at) => (ulong)Math.Max(0, (at - DateTimeOffset.UnixEpoch).Ticks) * 100;

    /// <summary>
    /// An entry's identity in 8 bytes instead of 56: its kernel id, original tuple and start time,
    /// mixed into 64 bits. Deterministic, so a checkpoint written by one process is read by the
    /// next. Two live entries share a fingerprint with odds of about n²/2⁶⁵ (10⁻⁹ at 250,000).
    /// </summary>
    private static ulong Fingerprint(in ConntrackEntry entry)
    {
        ref readonly var t = ref entry.Original;
        var h = Mix(0x9E3779B97F4A7C15UL ^ entry.Id);
        h = Mix(h ^ t.Source.Hi);
        h = Mix(h ^ t.Source.Lo);
        h = Mix(h ^ t.Destination.Hi);
        h = Mix(h ^ t.Destination.Lo);
        h = Mix(h ^ entry.StartNanos);
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

    private readonly record struct EntryState(ConntrackCounters Original, ConntrackCounters Reply, uint Generation, bool Local, EntryOwners Owners = default);

    /// <summary>The owners of an entry's two ends, for ends at a node address (unresolved until found).</summary>
    private readonly record struct EntryOwners(OwnerState Initiator, OwnerState Peer);

    private readonly record struct OwnerState(ushort Id, HostOutcome Outcome, bool Resolved);
}
