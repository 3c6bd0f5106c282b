using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>
/// Counters per flow key, held compactly: a key whose addresses are all IPv4 (nearly every key
/// on most nodes) is packed into 16 bytes instead of the 49 of <see cref="FlowKey"/>, so a key
/// costs about 60 bytes with its counters and the table's own slots instead of about 100; keys with
/// an IPv6 address are kept whole beside them. The table grows by a quarter at a time
/// (<see cref="DictionaryGrowth"/>) and keeps its size between windows, so a node's steady key
/// count costs little more than the keys themselves and no window has to grow it again.
/// </summary>
public sealed class FlowCounterDictionary : IReadOnlyDictionary<FlowKey, FlowCounters>
{
    private readonly Dictionary<PackedKey, FlowCounters> narrow;
    private readonly Dictionary<FlowKey, FlowCounters> wide = [];

    /// <param name="capacity">Room made up front, for keys of IPv4 addresses.</param>
    public FlowCounterDictionary(int capacity = 0)
    {
        narrow = new Dictionary<PackedKey, FlowCounters>(capacity);
    }

    public int Count => narrow.Count + wide.Count;

    public IEnumerable<FlowKey> Keys => this.Select(f => f.Key);

    public IEnumerable<FlowCounters> Values => this.Select(f => f.Value);

    public FlowCounters this[FlowKey key] => TryGetValue(key, out var value) ? value : throw new KeyNotFoundException($"No flow {key}.");

    /// <summary>The key's counters to add to, made zero when the key is new.</summary>
    public ref FlowCounters GetValueRefOrAddDefault(in FlowKey key, out bool exists)
    {
        if (PackedKey.TryPack(key, out var packed))
        {
            DictionaryGrowth.MakeRoomForOne(narrow);
            return ref CollectionsMarshal.GetValueRefOrAddDefault(narrow, packed, out exists);
        }

        DictionaryGrowth.MakeRoomForOne(wide);
        return ref CollectionsMarshal.GetValueRefOrAddDefault(wide, key, out exists);
    }

    public bool ContainsKey(FlowKey key) =>
        PackedKey.TryPack(key, out var packed) ? narrow.ContainsKey(packed) : wide.ContainsKey(key);

    public bool TryGetValue(FlowKey key, [MaybeNullWhen(false)] out FlowCounters value) =>
        PackedKey.TryPack(key, out var packed) ? narrow.TryGetValue(packed, out value) : wide.TryGetValue(key, out value);

    /// <summary>Room for as many keys of each kind as <paramref name="like"/> holds, made at once rather than step by step.</summary>
    public void EnsureCapacity(FlowCounterDictionary like)
    {
        narrow.EnsureCapacity(like.narrow.Count);
        wide.EnsureCapacity(like.wide.Count);
    }

    /// <summary>Empties the table and keeps its room for the next window, unless far more than the last one needed.</summary>
    public void Clear()
    {
        Clear(narrow);
        Clear(wide);
    }

    /// <summary>Gives back all room beyond the keys held (a table that is only read from now on).</summary>
    public void TrimExcess()
    {
        narrow.TrimExcess();
        wide.TrimExcess();
    }

    public IEnumerator<KeyValuePair<FlowKey, FlowCounters>> GetEnumerator()
    {
        foreach (var (key, counters) in narrow)
        {
            yield return new(key.Unpack(), counters);
        }

        foreach (var flow in wide)
        {
            yield return flow;
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static void Clear<TKey>(Dictionary<TKey, FlowCounters> table)
        where TKey : notnull
    {
        var count = table.Count;
        table.Clear();
        // Room for twice the last window's keys and more is given back: a burst of keys does not keep its memory.
        if (table.EnsureCapacity(0) > (2 * count) + 1024)
        {
            table.TrimExcess(count + (count / 4) + 16);
        }
    }

    /// <summary>
    /// A key whose source, destination and original destination are IPv4 (or none): each address's
    /// 32 bits, the protocol, and whether the original destination is none (unlike 0.0.0.0, which
    /// grouped keys use), and the owner (bits 9 to 24).
    /// </summary>
    internal readonly record struct PackedKey(ulong Addresses, ulong Rest)
    {
        private const ulong NoOriginal = 1UL << 8;

        public static bool TryPack(in FlowKey key, out PackedKey packed)
        {
            if (key.Source.IsV4 && key.Destination.IsV4 && (key.OriginalDestination.IsNone || key.OriginalDestination.IsV4))
            {
                var original = key.OriginalDestination.IsNone ? NoOriginal : (ulong)(uint)key.OriginalDestination.Lo << 32;
                packed = new PackedKey(((ulong)(uint)key.Source.Lo << 32) | (uint)key.Destination.Lo, original | key.Protocol | ((ulong)key.Owner << 9));
                return true;
            }

            packed = default;
            return false;
        }

        public FlowKey Unpack() => new(
            IpAddr.FromV4((uint)(Addresses >> 32)),
            IpAddr.FromV4((uint)Addresses),
            (Rest & NoOriginal) != 0 ? IpAddr.None : IpAddr.FromV4((uint)(Rest >> 32)),
            (byte)Rest,
            (ushort)(Rest >> 9));

        public bool Equals(PackedKey other) => Addresses == other.Addresses && Rest == other.Rest;

        /// <summary>
        /// Each address hashed on its own. A ulong's own hash folds its halves together, source XOR
        /// destination here, so every key whose source and destination change together (pod n to
        /// service n) had one hash: summing a window of them walked one ever longer bucket for every
        /// key instead of finding each at once.
        /// </summary>
        public override int GetHashCode() => HashCode.Combine((uint)(Addresses >> 32), (uint)Addresses, (uint)(Rest >> 32), (uint)Rest);
    }
}
