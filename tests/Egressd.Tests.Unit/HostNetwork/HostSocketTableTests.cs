using Egressd.Collector.HostNetwork;
using Egressd.Contracts;

namespace Egressd.Tests.HostNetwork;

public sealed class HostSocketTableTests
{
    private static readonly IpAddr Node = IpAddr.Parse("192.168.5.10");
    private static readonly IpAddr Peer = IpAddr.Parse("10.244.2.20");

    private static SocketRecord Tcp(ushort localPort, IpAddr remote, ushort remotePort, ulong cookie, ulong cgroup, byte state = 1, IpAddr? local = null) =>
        new(6, state, local ?? Node, localPort, remote, remotePort, cookie, cgroup);

    [Fact]
    public void A_connection_is_found_by_its_four_tuple_and_a_listener_by_its_port_on_any_address()
    {
        var table = new HostSocketTable();
        table.Refresh(add =>
        {
            add(Tcp(40000, Peer, 8080, cookie: 1, cgroup: 100));
            add(Tcp(10250, IpAddr.FromV4(0), 0, cookie: 2, cgroup: 200, state: SocketRecord.Listen, local: IpAddr.FromV4(0)));
            add(new SocketRecord(17, 7, Node, 53, IpAddr.FromV4(0), 0, 3, 300));
        });

        Assert.Equal(100UL, table.Connected(6, Node, 40000, Peer, 8080));
        Assert.Equal(0UL, table.Connected(6, Node, 40001, Peer, 8080));
        Assert.Equal(200UL, table.Listening(6, Node, 10250));
        Assert.Equal(300UL, table.Listening(17, Node, 53));
        Assert.Equal(0UL, table.Listening(17, Node, 54));
    }

    [Fact]
    public void A_time_wait_remnant_keeps_the_cgroup_its_cookie_had_while_the_connection_was_open()
    {
        var table = new HostSocketTable();
        table.Refresh(add => add(Tcp(40000, Peer, 8080, cookie: 9, cgroup: 100)));
        // Closed since: TIME_WAIT carries the cookie only.
        table.Refresh(add => add(Tcp(40000, Peer, 8080, cookie: 9, cgroup: 0, state: 6)));
        Assert.Equal(100UL, table.Connected(6, Node, 40000, Peer, 8080));
        Assert.Equal(1, table.ResolvedByCookie);

        // Gone from the list: the cookie is forgotten.
        table.Refresh(_ => { });
        Assert.Equal(0, table.CachedCookies);
        table.Refresh(add => add(Tcp(40000, Peer, 8080, cookie: 9, cgroup: 0, state: 6)));
        Assert.Equal(0UL, table.Connected(6, Node, 40000, Peer, 8080));
    }
}
