using System.Runtime.Versioning;
using Egressd.Collector.Cilium;
using Egressd.Collector.Flows;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Network;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Egressd.Tests.Collector;

/// <summary>
/// A collector restart on a Cilium node: real maps in a private bpf filesystem, read by one reader
/// that saves its restart checkpoint, then by a new reader over that checkpoint, as a new process
/// would. Only what the connections carried since the checkpoint is counted again.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class CiliumCheckpointTests
{
    private const string Pod = "10.0.0.1";

    private sealed class Pods : ILocalPods
    {
        public string Description => "test";

        public bool Contains(IpAddr address) => address == IpAddr.Parse(Pod);
    }

    /// <summary>One collector process: its reader, reducer and checkpoint over the node's maps.</summary>
    private sealed class Process
    {
        private readonly CiliumConntrack conntrack;
        private readonly ConntrackReducer reducer;

        public Process(CiliumMaps maps, string state)
        {
            conntrack = new CiliumConntrack(maps.Root, CiliumCounterLayout.Auto, new CiliumClock(CiliumClockSource.Ktime));
            reducer = new ConntrackReducer(new Pods(), new PublicAddresses(CidrSet.Parse(["10.0.0.0/8"])), groupPublicDestinations: false, new PendingFlows());
            Checkpoint = ConntrackCheckpoint.OpenForCilium(state, maps.Root, reducer, DateTimeOffset.UtcNow, NullLogger.Instance, TestMetrics.Collector(),
                () => conntrack.Layout.ToString(), s => conntrack.Seed(Enum.Parse<CiliumCounterLayout>(s)))!;
        }

        public ConntrackCheckpoint Checkpoint { get; }

        public CiliumCounterLayout Layout => conntrack.Layout;

        public ulong UncountedBytes => reducer.UncountedBytes;

        /// <summary>One read; the window's flows as "destination: tx/rx bytes".</summary>
        public Dictionary<string, (ulong Tx, ulong Rx)> Read()
        {
            reducer.BeginDump();
            conntrack.Dump(reducer);
            reducer.EndDump();
            var parts = reducer.Pending.IsEmpty ? [] : reducer.Pending.Freeze("node", "boot", 1, FlowSource.Cilium, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, int.MaxValue);
            return parts.SelectMany(p => p.Flows).ToDictionary(f => $"{f.DestinationIp}", f => (f.TxBytes, f.RxBytes));
        }
    }

    private static void Put(int fd, string peer, ushort port, byte flags, CiliumCounterLayout layout, ulong tx, ulong rx)
    {
        var lifetime = new CiliumClock(CiliumClockSource.Ktime).LifetimeIn(3600, CiliumClockSource.Ktime);
        var inbound = (flags & CiliumMaps.In) != 0;
        var key = inbound ? CiliumMaps.Key(peer, port, Pod, 8080, 6, flags) : CiliumMaps.Key(Pod, port, peer, 443, 6, flags);
        BpfSyscall.Update(fd, key, layout == CiliumCounterLayout.Split
            ? CiliumMaps.SplitValue(rx / 100, rx, tx / 100, tx, lifetime)
            : CiliumMaps.CombinedValue((tx + rx) / 100, tx + rx, lifetime));
    }

    [Theory]
    [InlineData(CiliumCounterLayout.Split)]
    [InlineData(CiliumCounterLayout.Combined)]
    public void A_restart_counts_only_what_live_connections_carried_since_the_checkpoint(CiliumCounterLayout layout)
    {
        using var maps = new CiliumMaps();
        var state = Directory.CreateTempSubdirectory("egressd-cilium-state-").FullName;
        var fd = maps.Create("cilium_ct4_global", ipv6: false);
        var first = new Process(maps, state);
        // The first start on the node, no checkpoint: connections opened since its first read count whole.
        Assert.Empty(first.Read());
        Put(fd, "10.2.0.1", 40001, CiliumMaps.Out, layout, tx: 1000, rx: 5000);
        Put(fd, "10.2.0.2", 40002, CiliumMaps.Out, layout, tx: 2000, rx: 2000);
        Put(fd, "10.2.0.3", 5555, CiliumMaps.In, layout, tx: 300, rx: 700);
        var before = first.Read();
        Assert.Equal(layout, first.Layout);
        Assert.Equal(3, before.Count);
        first.Checkpoint.Save([]);
        first.Checkpoint.Confirmed();

        // While the collector is down: connection 1 goes on; connection 2 ends and a new one takes
        // its tuple (lower counters); the inbound one ends, so nothing tells the layout again; one
        // opens that the checkpoint never saw.
        Put(fd, "10.2.0.1", 40001, CiliumMaps.Out, layout, tx: 1500, rx: 5600);
        Put(fd, "10.2.0.2", 40002, CiliumMaps.Out, layout, tx: 40, rx: 60);
        BpfSyscall.Delete(fd, CiliumMaps.Key("10.2.0.3", 5555, Pod, 8080, 6, CiliumMaps.In));
        Put(fd, "10.2.0.4", 40004, CiliumMaps.Out, layout, tx: 800, rx: 200);

        var second = new Process(maps, state);
        var after = second.Read();

        // The layout comes back from the checkpoint, so the entries are read as they were saved.
        Assert.Equal(layout, second.Layout);
        if (layout == CiliumCounterLayout.Split)
        {
            Assert.Equal((500UL, 600UL), after["10.2.0.1"]);
            Assert.Equal((40UL, 60UL), after["10.2.0.2"]);
        }
        else
        {
            Assert.Equal((1100UL, 0UL), after["10.2.0.1"]);
            Assert.Equal((100UL, 0UL), after["10.2.0.2"]);
        }

        // Opened before this process's first read and not in the checkpoint: Cilium keeps no start
        // time, so it may be one the last process counted. Taken as it is, its bytes said uncounted.
        Assert.False(after.ContainsKey("10.2.0.4"));
        Assert.Equal(1000UL, second.UncountedBytes);
        Assert.Equal(2, after.Count);

        // From then on it counts as any other, and a connection first seen later counts whole.
        Put(fd, "10.2.0.4", 40004, CiliumMaps.Out, layout, tx: 900, rx: 200);
        Put(fd, "10.2.0.5", 40005, CiliumMaps.Out, layout, tx: 70, rx: 30);
        var later = second.Read();
        Assert.Equal(100UL, later["10.2.0.4"].Tx + later["10.2.0.4"].Rx);
        Assert.Equal(100UL, later["10.2.0.5"].Tx + later["10.2.0.5"].Rx);
    }

    [Fact]
    public void A_checkpoint_of_another_bpf_root_is_not_used()
    {
        using var maps = new CiliumMaps();
        using var other = new CiliumMaps();
        var state = Directory.CreateTempSubdirectory("egressd-cilium-state-").FullName;
        var fd = maps.Create("cilium_ct4_global", ipv6: false);
        var otherFd = other.Create("cilium_ct4_global", ipv6: false);
        Put(fd, "10.2.0.1", 40001, CiliumMaps.Out, CiliumCounterLayout.Combined, tx: 1000, rx: 0);
        Put(otherFd, "10.2.0.1", 40001, CiliumMaps.Out, CiliumCounterLayout.Combined, tx: 1500, rx: 0);
        var first = new Process(maps, state);
        first.Read();
        Put(fd, "10.2.0.1", 40001, CiliumMaps.Out, CiliumCounterLayout.Combined, tx: 1100, rx: 0);
        Assert.Equal((100UL, 0UL), first.Read()["10.2.0.1"]);
        first.Checkpoint.Save([]);

        // Same tuple under another root: no continuation from the first root's counters.
        var second = new Process(other, state);
        Assert.Empty(second.Read());
        Assert.Equal(1500UL, second.UncountedBytes);
        Assert.False(File.Exists(Path.Combine(state, ConntrackCheckpoint.FileName)));
    }
}
