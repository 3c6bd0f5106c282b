using System.Runtime.InteropServices;
using Egressd.Contracts;

namespace Egressd.Collector.Dns;

/// <summary>
/// Address → the name a client asked for, as the node's DNS answers said, for as long as they
/// said (within <c>MinTtl</c> and <c>MaxTtl</c>), and for at most <c>MaxEntries</c> addresses: the
/// least recently answered goes first. Its second job is to keep the wire small: an answer is
/// shipped only when it is new, names the address differently, or has been refreshed (its expiry
/// moved on by a tenth of its lifetime, at least a second) since it was last shipped, so a busy
/// name answered on every pod many times a second costs a few answers per TTL, not one per
/// response. Used by the capture thread alone.
/// </summary>
internal sealed class DnsAnswerMap
{
    private const int None = -1;

    private readonly Dictionary<IpAddr, int> index = [];
    private readonly List<Entry> entries = [];
    private readonly Stack<int> free = new();
    private readonly int maxEntries;
    private readonly long minTtlTicks;
    private readonly long maxTtlTicks;

    // The least recently answered address is at the tail.
    private int head = None;
    private int tail = None;

    public DnsAnswerMap(int maxEntries, TimeSpan minTtl, TimeSpan maxTtl)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        this.maxEntries = maxEntries;
        minTtlTicks = minTtl.Ticks;
        maxTtlTicks = maxTtl.Ticks;
    }

    public int Count => index.Count;

    /// <summary>Addresses pushed out while their answer was still live.</summary>
    public long Evicted { get; private set; }

    /// <summary>Addresses removed because their answer ran out.</summary>
    public long Expired { get; private set; }

    /// <summary>
    /// Records that <paramref name="address"/> answers to <paramref name="name"/> for
    /// <paramref name="ttlSeconds"/> from <paramref name="now"/>. True when the answer should be
    /// shipped, with the expiry to ship.
    /// </summary>
    public bool Record(IpAddr address, string name, uint ttlSeconds, DateTimeOffset now, out DateTimeOffset expiresAt)
    {
        var lifetime = Math.Clamp(ttlSeconds * TimeSpan.TicksPerSecond, minTtlTicks, maxTtlTicks);
        var expires = now.UtcTicks + lifetime;
        expiresAt = new DateTimeOffset(expires, TimeSpan.Zero);
        if (!index.TryGetValue(address, out var at))
        {
            at = Allocate(now.UtcTicks);
            CollectionsMarshal.AsSpan(entries)[at] = new Entry { Address = address, Name = name, ExpiresTicks = expires, ShippedTicks = expires, Prev = None, Next = None };
            index.Add(address, at);
            PushFront(at);
            return true;
        }

        ref var entry = ref CollectionsMarshal.AsSpan(entries)[at];
        MoveToFront(at);
        if (!string.Equals(entry.Name, name, StringComparison.Ordinal))
        {
            entry.Name = name;
            entry.ExpiresTicks = expires;
            entry.ShippedTicks = expires;
            return true;
        }

        if (expires > entry.ExpiresTicks)
        {
            entry.ExpiresTicks = expires;
        }

        if (expires - entry.ShippedTicks >= Math.Max(TimeSpan.TicksPerSecond, lifetime / 10))
        {
            entry.ShippedTicks = expires;
            return true;
        }

        return false;
    }

    /// <summary>The name recorded for <paramref name="address"/> while it is live at <paramref name="now"/>.</summary>
    public string? NameOf(IpAddr address, DateTimeOffset now) =>
        index.TryGetValue(address, out var at) && entries[at].ExpiresTicks > now.UtcTicks ? entries[at].Name : null;

    /// <summary>Drops every answer that has run out; returns how many.</summary>
    public int RemoveExpired(DateTimeOffset now)
    {
        var removed = 0;
        var at = tail;
        while (at != None)
        {
            var entry = entries[at];
            var previous = entry.Prev;
            if (entry.ExpiresTicks <= now.UtcTicks)
            {
                Remove(at);
                Expired++;
                removed++;
            }

            at = previous;
        }

        return removed;
    }

    private int Allocate(long nowTicks)
    {
        if (free.TryPop(out var reused))
        {
            return reused;
        }

        if (entries.Count < maxEntries)
        {
            entries.Add(default);
            return entries.Count - 1;
        }

        var victim = tail;
        if (entries[victim].ExpiresTicks <= nowTicks)
        {
            Expired++;
        }
        else
        {
            Evicted++;
        }

        Remove(victim);
        return free.Pop();
    }

    private void Remove(int at)
    {
        var span = CollectionsMarshal.AsSpan(entries);
        Unlink(span, at);
        index.Remove(span[at].Address);
        span[at] = default;
        free.Push(at);
    }

    private void PushFront(int at)
    {
        var span = CollectionsMarshal.AsSpan(entries);
        span[at].Prev = None;
        span[at].Next = head;
        if (head != None)
        {
            span[head].Prev = at;
        }

        head = at;
        if (tail == None)
        {
            tail = at;
        }
    }

    private void MoveToFront(int at)
    {
        if (head == at)
        {
            return;
        }

        Unlink(CollectionsMarshal.AsSpan(entries), at);
        PushFront(at);
    }

    private void Unlink(Span<Entry> span, int at)
    {
        var (prev, next) = (span[at].Prev, span[at].Next);
        if (prev != None)
        {
            span[prev].Next = next;
        }
        else
        {
            head = next;
        }

        if (next != None)
        {
            span[next].Prev = prev;
        }
        else
        {
            tail = prev;
        }
    }

    private struct Entry
    {
        public IpAddr Address;
        public string Name;
        public long ExpiresTicks;
        public long ShippedTicks;
        public int Prev;
        public int Next;
    }
}
