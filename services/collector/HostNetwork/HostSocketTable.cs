using System.Runtime.InteropServices;
using Egressd.Contracts;

namespace Egressd.Collector.HostNetwork;

/// <summary>
/// The node namespace's sockets as of the last <see cref="Refresh"/>, by what conntrack can ask:
/// a connected socket by its 4-tuple, a listener or unconnected UDP socket by its local address and
/// port (the wildcard address too). The cgroup of a socket is known only while it is a full socket;
/// a TCP connection's TIME_WAIT remnant keeps its cookie, so a cookie → cgroup cache, fed by every
/// refresh and kept while the cookie is still listed, gives a closed connection the cgroup it had
/// when an earlier refresh saw it open.
/// </summary>
internal sealed class HostSocketTable
{
    private readonly Dictionary<Connection, ulong> connections = [];
    private readonly Dictionary<Bound, ulong> bound = [];
    private readonly Dictionary<ulong, (ulong Cgroup, uint Seen)> cookies = [];
    private uint generation;

    /// <summary>Sockets the last refresh listed.</summary>
    public int Sockets { get; private set; }

    /// <summary>Of those, remnants without a cgroup (TIME_WAIT, NEW_SYN_RECV) that the cookie cache resolved.</summary>
    public int ResolvedByCookie { get; private set; }

    /// <summary>Cookies whose cgroup is remembered.</summary>
    public int CachedCookies => cookies.Count;

    /// <summary>Replaces the table with what <paramref name="dump"/> lists now.</summary>
    public void Refresh(Action<Action<SocketRecord>> dump)
    {
        generation++;
        connections.Clear();
        bound.Clear();
        Sockets = 0;
        ResolvedByCookie = 0;
        dump(Add);
        foreach (var (cookie, (_, seen)) in cookies)
        {
            if (seen != generation)
            {
                cookies.Remove(cookie);
            }
        }
    }

    private void Add(SocketRecord socket)
    {
        Sockets++;
        var cgroup = socket.CgroupId;
        if (socket.Cookie != 0)
        {
            ref var cached = ref CollectionsMarshal.GetValueRefOrAddDefault(cookies, socket.Cookie, out var known);
            if (cgroup != 0)
            {
                cached = (cgroup, generation);
            }
            else if (known)
            {
                cgroup = cached.Cgroup;
                cached.Seen = generation;
                ResolvedByCookie++;
            }
            else
            {
                cookies.Remove(socket.Cookie);
            }
        }

        if (cgroup == 0)
        {
            return;
        }

        if (socket.IsUnconnected)
        {
            var local = IsAny(socket.Local) ? IpAddr.None : socket.Local;
            bound.TryAdd(new Bound(socket.Protocol, local, socket.LocalPort), cgroup);
        }
        else
        {
            connections[new Connection(socket.Protocol, socket.Local, socket.LocalPort, socket.Remote, socket.RemotePort)] = cgroup;
        }
    }

    /// <summary>The cgroup of the connected socket with these ends, or 0.</summary>
    public ulong Connected(byte protocol, IpAddr local, ushort localPort, IpAddr remote, ushort remotePort) =>
        connections.GetValueOrDefault(new Connection(protocol, local, localPort, remote, remotePort));

    /// <summary>The cgroup of the listener or unconnected socket that takes <paramref name="local"/>:<paramref name="localPort"/> (its own address first, then the wildcard), or 0.</summary>
    public ulong Listening(byte protocol, IpAddr local, ushort localPort) =>
        bound.TryGetValue(new Bound(protocol, local, localPort), out var cgroup) ? cgroup
        : bound.GetValueOrDefault(new Bound(protocol, IpAddr.None, localPort));

    private static bool IsAny(IpAddr address) => address.IsNone || address == AnyV4;

    private static readonly IpAddr AnyV4 = IpAddr.FromV4(0);

    private readonly record struct Connection(byte Protocol, IpAddr Local, ushort LocalPort, IpAddr Remote, ushort RemotePort);

    private readonly record struct Bound(byte Protocol, IpAddr Local, ushort LocalPort);
}
