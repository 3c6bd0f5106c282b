using System.Collections.Concurrent;
using Egressd.Contracts;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// The cgroups of node-address connections looked up the moment conntrack reported them new
/// (<see cref="ConntrackNewEventListener"/>), by their 4-tuple as the node's socket holds it: what
/// gives a connection that opens and closes between two reads its pod, since no socket dump ever
/// sees it open.
/// <para>
/// Two threads: the event thread <see cref="Add"/>s into a queue; the read thread moves the queue
/// into a plain dictionary at <see cref="BeginRead"/>, and again when <see cref="Find"/> sees it is not empty (a
/// connection reported during the dump, or one whose destroy event is applied before the read
/// begins), so the read's lookups take no lock.
/// </para>
/// <para>
/// An entry goes when its conntrack entry's destroy event has been applied (<see cref="Ended"/>)
/// or once <see cref="ReadsKept"/> reads have passed: the reducer keeps an owner with its entry once
/// found, so only the first read that meets a connection needs it (the later ones only while the
/// pod watch does not know the pod yet). Destroy events alone would not bound it: a closed TCP
/// entry waits in conntrack's TIME_WAIT for two minutes before its event comes. Both the queue and
/// the dictionary hold at most the capacity; what comes past it is dropped and counted.
/// </para>
/// </summary>
internal sealed class OpenedConnections(int capacity)
{
    /// <summary>Reads an entry lives through: the first that can meet its connection and two more.</summary>
    public const int ReadsKept = 3;

    private readonly ConcurrentQueue<(Connection Connection, Remembered Remembered)> arrived = new();
    private readonly Dictionary<Connection, Remembered> known = [];
    private int waiting;
    private long dropped;
    private uint read;

    public int Capacity { get; } = capacity;

    /// <summary>Connections whose cgroup is remembered now (read thread).</summary>
    public int Count => known.Count;

    /// <summary>Connections not remembered because the queue or the map was full, since start.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    /// <summary>From the event thread: the connection with these ends (the node's socket's view) and conntrack id has this cgroup.</summary>
    public void Add(byte protocol, IpAddr local, ushort localPort, IpAddr remote, ushort remotePort, uint conntrackId, ulong cgroup)
    {
        if (Interlocked.Increment(ref waiting) > Capacity)
        {
            // Reads have stopped taking them (or churn outruns the capacity): the read-side bound holds anyway.
            Interlocked.Decrement(ref waiting);
            Interlocked.Increment(ref dropped);
            return;
        }

        arrived.Enqueue((new Connection(protocol, local, localPort, remote, remotePort), new Remembered(cgroup, conntrackId, 0)));
    }

    /// <summary>Before each read (read thread): takes what arrived and forgets what has lived through <see cref="ReadsKept"/> reads.</summary>
    public void BeginRead()
    {
        read++;
        foreach (var (connection, remembered) in known)
        {
            if (read - remembered.Read >= ReadsKept)
            {
                known.Remove(connection);
            }
        }

        Take();
    }

    /// <summary>The cgroup of the connection with these ends, or 0 (read thread).</summary>
    public ulong Find(byte protocol, IpAddr local, ushort localPort, IpAddr remote, ushort remotePort)
    {
        if (!arrived.IsEmpty)
        {
            // Taken first: a tuple reused since may have a newer cgroup waiting.
            Take();
        }

        return known.TryGetValue(new Connection(protocol, local, localPort, remote, remotePort), out var remembered) ? remembered.Cgroup : 0;
    }

    /// <summary>The destroy event of conntrack entry <paramref name="conntrackId"/> with these ends was applied: its cgroup is no longer needed (read thread).</summary>
    public void Ended(byte protocol, IpAddr local, ushort localPort, IpAddr remote, ushort remotePort, uint conntrackId)
    {
        var connection = new Connection(protocol, local, localPort, remote, remotePort);
        // A reused tuple's successor may have been reported since: only this entry's goes.
        if (known.TryGetValue(connection, out var remembered) && remembered.ConntrackId == conntrackId)
        {
            known.Remove(connection);
        }
    }

    /// <summary>Moves the queue into the map.</summary>
    private void Take()
    {
        while (arrived.TryDequeue(out var item))
        {
            Interlocked.Decrement(ref waiting);
            if (known.Count >= Capacity && !known.ContainsKey(item.Connection))
            {
                Interlocked.Increment(ref dropped);
                continue;
            }

            // A tuple reported again is a newer connection on it: the newer cgroup wins.
            known[item.Connection] = item.Remembered with { Read = read };
        }
    }

    private readonly record struct Connection(byte Protocol, IpAddr Local, ushort LocalPort, IpAddr Remote, ushort RemotePort);

    private readonly record struct Remembered(ulong Cgroup, uint ConntrackId, uint Read);
}
