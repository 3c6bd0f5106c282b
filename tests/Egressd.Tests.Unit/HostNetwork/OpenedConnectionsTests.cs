using Egressd.Collector.HostNetwork;
using Egressd.Contracts;

namespace Egressd.Tests.HostNetwork;

public sealed class OpenedConnectionsTests
{
    private static readonly IpAddr Node = IpAddr.Parse("192.168.5.10");
    private static readonly IpAddr Peer = IpAddr.Parse("10.244.2.20");

    [Fact]
    public void A_connection_is_found_by_its_ends_until_its_destroy_event_is_applied()
    {
        var opened = new OpenedConnections(1024);
        opened.Add(6, Node, 40000, Peer, 443, conntrackId: 7, cgroup: 100);
        // Found before any read began: the event came between reads and the read's first miss takes it.
        Assert.Equal(100UL, opened.Find(6, Node, 40000, Peer, 443));
        Assert.Equal(0UL, opened.Find(17, Node, 40000, Peer, 443));
        Assert.Equal(0UL, opened.Find(6, Node, 40001, Peer, 443));

        // Another entry's destroy event on the same ends (its predecessor) leaves it.
        opened.Ended(6, Node, 40000, Peer, 443, conntrackId: 6);
        Assert.Equal(100UL, opened.Find(6, Node, 40000, Peer, 443));
        opened.Ended(6, Node, 40000, Peer, 443, conntrackId: 7);
        Assert.Equal(0UL, opened.Find(6, Node, 40000, Peer, 443));
        Assert.Equal(0, opened.Count);
    }

    [Fact]
    public void An_entry_lives_through_three_reads_and_a_reused_tuple_takes_the_newer_cgroup()
    {
        var opened = new OpenedConnections(1024);
        opened.Add(17, Node, 5353, Peer, 53, conntrackId: 1, cgroup: 100);
        opened.BeginRead();
        opened.Add(17, Node, 5353, Peer, 53, conntrackId: 2, cgroup: 200);
        Assert.Equal(200UL, opened.Find(17, Node, 5353, Peer, 53));
        opened.BeginRead();
        opened.BeginRead();
        Assert.Equal(200UL, opened.Find(17, Node, 5353, Peer, 53));
        opened.BeginRead();
        Assert.Equal(0UL, opened.Find(17, Node, 5353, Peer, 53));
        Assert.Equal(0, opened.Count);
    }

    [Fact]
    public void Past_the_capacity_new_connections_are_dropped_and_counted()
    {
        var opened = new OpenedConnections(4);
        for (ushort port = 1; port <= 6; port++)
        {
            opened.Add(6, Node, port, Peer, 80, port, cgroup: 100UL + port);
        }

        Assert.Equal(2, opened.Dropped);
        opened.BeginRead();
        Assert.Equal(4, opened.Count);
        Assert.Equal(104UL, opened.Find(6, Node, 4, Peer, 80));
        Assert.Equal(0UL, opened.Find(6, Node, 5, Peer, 80));

        // The map's own bound: full, it takes no more until entries go.
        opened.Add(6, Node, 7, Peer, 80, 7, cgroup: 107);
        opened.BeginRead();
        Assert.Equal(3, opened.Dropped);
        opened.Ended(6, Node, 1, Peer, 80, 1);
        opened.Add(6, Node, 8, Peer, 80, 8, cgroup: 108);
        Assert.Equal(108UL, opened.Find(6, Node, 8, Peer, 80));
    }

    [Fact]
    public async Task An_event_thread_adding_while_the_read_thread_finds_loses_nothing()
    {
        var opened = new OpenedConnections(1 << 20);
        const int Count = 200_000;
        var adding = Task.Run(() =>
        {
            for (var i = 0; i < Count; i++)
            {
                opened.Add(6, Node, (ushort)(i & 0xFFFF), IpAddr.FromV4((uint)i), 80, (uint)i, cgroup: (ulong)i + 1);
            }
        }, TestContext.Current.CancellationToken);

        var found = 0;
        for (var i = 0; i < Count; i++)
        {
            // Each is found once the event thread has added it: the read thread waits for it here only.
            var cgroup = 0UL;
            while ((cgroup = opened.Find(6, Node, (ushort)(i & 0xFFFF), IpAddr.FromV4((uint)i), 80)) == 0)
            {
                Thread.Yield();
            }

            found += cgroup == (ulong)i + 1 ? 1 : 0;
        }

        await adding;
        Assert.Equal(Count, found);
        Assert.Equal(0, opened.Dropped);
    }
}
