using System.Runtime.Versioning;
using System.Text.Json;
using Egressd.Collector;
using Egressd.Collector.Cilium;
using Egressd.Collector.Flows;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Network;
using Egressd.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;

namespace Egressd.Tests.Collector;

/// <summary>
/// Cilium's conntrack maps, made for real in a private bpf filesystem with Cilium's key and value
/// layouts, read through bpf(2) by the collector's reader and reduced by the shared reducer.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class CiliumConntrackTests
{
    private const string Tcp4 = "cilium_ct4_global";
    private const string Any4 = "cilium_ct_any4_global";
    private const string Tcp6 = "cilium_ct6_global";
    private const string Any6 = "cilium_ct_any6_global";

    private sealed class Pods(params string[] ips) : ILocalPods
    {
        private readonly HashSet<IpAddr> set = [.. ips.Select(IpAddr.Parse)];

        public string Description => "test";

        public bool Contains(IpAddr address) => set.Contains(address);
    }

    /// <summary>Passes entries on to the reducer and keeps them to look at.</summary>
    private sealed class Tee(IConntrackEntrySink next) : IConntrackEntrySink
    {
        public List<ConntrackEntry> Entries { get; } = [];

        public void OnEntry(in ConntrackEntry entry)
        {
            Entries.Add(entry);
            next.OnEntry(entry);
        }
    }

    private sealed class Counting : IConntrackEntrySink
    {
        public int Count;
        public ulong Bytes;
        public ulong MaxTimeout;

        public void OnEntry(in ConntrackEntry entry)
        {
            Count++;
            Bytes += entry.OriginalCounters.Bytes + entry.ReplyCounters.Bytes;
            MaxTimeout = Math.Max(MaxTimeout, entry.TimeoutSeconds);
        }
    }

    /// <summary>One connection as the test writes it: the local endpoint's tx and rx, which 1.16+ sum.</summary>
    private sealed record Conn(string Map, string Src, ushort SrcPort, string Dst, ushort DstPort, byte Proto, byte Flags,
        ulong TxPackets, ulong TxBytes, ulong RxPackets, ulong RxBytes);

    private static readonly Conn[] Connections =
    [
        // A pod opens a connection out; its remote answers.
        new(Tcp4, "10.0.0.1", 40000, "198.18.0.5", 443, 6, CiliumMaps.Out, 10, 1000, 8, 5000),
        // A remote client opens one to a pod: the IN entry's tx is what the pod sent back.
        new(Tcp4, "198.18.0.9", 5555, "10.0.0.1", 8080, 6, CiliumMaps.In, 3, 3000, 4, 400),
        // Two pods of this node: the OUT entry and its IN twin count the same bytes from each end.
        new(Tcp4, "10.0.0.1", 40001, "10.0.0.2", 80, 6, CiliumMaps.Out, 5, 500, 6, 600),
        new(Tcp4, "10.0.0.1", 40001, "10.0.0.2", 80, 6, CiliumMaps.In, 6, 600, 5, 500),
        // The load balancer's service entry and an ICMP-error gate: not traffic of their own.
        new(Tcp4, "10.0.0.1", 40002, "10.96.0.10", 80, 6, CiliumMaps.Service, 0, 0, 2, 222),
        new(Tcp4, "10.0.0.1", 40000, "198.18.0.5", 443, 6, CiliumMaps.Out | CiliumMaps.Related, 1, 60, 0, 0),
        new(Any4, "10.0.0.1", 5353, "10.0.0.53", 53, 17, CiliumMaps.Out, 2, 150, 2, 300),
        new(Any4, "10.0.0.1", 77, "198.18.0.7", 0, 1, CiliumMaps.Out, 3, 252, 3, 252),
        new(Tcp6, "fd00::1", 40000, "2001:db8::5", 443, 6, CiliumMaps.Out, 7, 700, 9, 9000),
        new(Tcp6, "2001:db8::9", 6000, "fd00::1", 8443, 6, CiliumMaps.In, 2, 2000, 2, 200),
        new(Tcp6, "fd00::1", 40003, "2001:db8::10", 80, 6, CiliumMaps.Service | CiliumMaps.Out, 0, 0, 1, 99),
        new(Any6, "fd00::1", 5000, "2001:db8::53", 53, 17, CiliumMaps.Out, 1, 80, 1, 120),
        new(Any6, "2001:db8::7", 0, "fd00::1", 9, 58, CiliumMaps.In, 1, 104, 1, 104),
    ];

    private static CiliumConntrack Reader(CiliumMaps maps, CiliumCounterLayout layout = CiliumCounterLayout.Auto, CiliumClockSource clock = CiliumClockSource.Auto) =>
        new(maps.Root, layout, new CiliumClock(clock));

    private static void Write(CiliumMaps maps, CiliumCounterLayout layout, Func<uint> lifetime)
    {
        var fds = new Dictionary<string, int>
        {
            [Tcp4] = maps.Create(Tcp4, ipv6: false),
            [Any4] = maps.Create(Any4, ipv6: false),
            [Tcp6] = maps.Create(Tcp6, ipv6: true),
            [Any6] = maps.Create(Any6, ipv6: true),
        };
        foreach (var c in Connections)
        {
            var service = (c.Flags & CiliumMaps.Service) != 0;
            var value = layout == CiliumCounterLayout.Split
                ? CiliumMaps.SplitValue(c.RxPackets, service ? 7 : c.RxBytes, c.TxPackets, c.TxBytes, lifetime())
                : CiliumMaps.CombinedValue(c.RxPackets + c.TxPackets, c.RxBytes + c.TxBytes, lifetime(), backendId: service ? 7UL : 0);
            BpfSyscall.Update(fds[c.Map], CiliumMaps.Key(c.Src, c.SrcPort, c.Dst, c.DstPort, c.Proto, c.Flags), value);
        }
    }

    private static List<string> Flows(PendingFlows pending) =>
        [.. pending.Freeze("node", "boot", 1, FlowSource.Cilium, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, int.MaxValue)[0].Flows
            .Select(f => $"{f.SourceIp} -> {f.DestinationIp} p{f.Protocol} tx {f.TxBytes}/{f.TxPackets} rx {f.RxBytes}/{f.RxPackets}")
            .Order(StringComparer.Ordinal)];

    [Theory]
    [InlineData(CiliumCounterLayout.Split, CiliumClockSource.Ktime)]
    [InlineData(CiliumCounterLayout.Split, CiliumClockSource.Jiffies)]
    [InlineData(CiliumCounterLayout.Combined, CiliumClockSource.Ktime)]
    [InlineData(CiliumCounterLayout.Combined, CiliumClockSource.Jiffies)]
    public void Reduced_flows_match_what_was_written_in_either_layout_and_clock(CiliumCounterLayout layout, CiliumClockSource clock)
    {
        using var maps = new CiliumMaps();
        var conntrack = Reader(maps);
        Write(maps, layout, () => conntrack.Clock.LifetimeIn(300, clock));
        var pending = new PendingFlows();
        var reducer = new ConntrackReducer(new Pods("10.0.0.1", "10.0.0.2", "fd00::1"), new PublicAddresses(CidrSet.Parse(["10.0.0.0/8", "fc00::/7"])), groupPublicDestinations: false, pending);
        var tee = new Tee(reducer);

        reducer.BeginDump();
        conntrack.Dump(tee);
        reducer.EndDump();

        Assert.Equal(layout, conntrack.Layout);
        Assert.Equal(4, conntrack.MapsFound);
        Assert.Equal(Connections.Length, conntrack.Entries);
        Assert.Equal((2, 1, 1), (conntrack.ServiceEntries, conntrack.RelatedEntries, conntrack.TwinEntries));
        Assert.Equal(Connections.Length - 4, tee.Entries.Count);
        Assert.All(tee.Entries, e => Assert.InRange(e.TimeoutSeconds, 295u, 300u));

        // The swapped address fields come back in the connection's own direction, ports too.
        var inbound = Assert.Single(tee.Entries, e => e.Original.Source == IpAddr.Parse("198.18.0.9"));
        Assert.Equal((IpAddr.Parse("10.0.0.1"), (ushort)5555, (ushort)8080), (inbound.Original.Destination, inbound.Original.SourcePort, inbound.Original.DestinationPort));
        Assert.Equal(inbound.Original.Destination, inbound.Reply.Source);

        string[] expected = layout == CiliumCounterLayout.Split
            ?
            [
                "10.0.0.1 -> 10.0.0.2 p6 tx 500/5 rx 600/6",
                "10.0.0.1 -> 10.0.0.53 p17 tx 150/2 rx 300/2",
                "10.0.0.1 -> 198.18.0.5 p6 tx 1000/10 rx 5000/8",
                "10.0.0.1 -> 198.18.0.7 p1 tx 252/3 rx 252/3",
                "10.0.0.1 -> 198.18.0.9 p6 tx 3000/3 rx 400/4",
                "10.0.0.2 -> 10.0.0.1 p6 tx 600/6 rx 500/5",
                "fd00::1 -> 2001:db8::5 p6 tx 700/7 rx 9000/9",
                "fd00::1 -> 2001:db8::53 p17 tx 80/1 rx 120/1",
                "fd00::1 -> 2001:db8::7 p58 tx 104/1 rx 104/1",
                "fd00::1 -> 2001:db8::9 p6 tx 2000/2 rx 200/2",
            ]
            :
            [
                // One counter for both directions: the opener shows it as sent, the acceptor as received.
                "10.0.0.1 -> 10.0.0.2 p6 tx 1100/11 rx 0/0",
                "10.0.0.1 -> 10.0.0.53 p17 tx 450/4 rx 0/0",
                "10.0.0.1 -> 198.18.0.5 p6 tx 6000/18 rx 0/0",
                "10.0.0.1 -> 198.18.0.7 p1 tx 504/6 rx 0/0",
                "10.0.0.1 -> 198.18.0.9 p6 tx 0/0 rx 3400/7",
                "10.0.0.2 -> 10.0.0.1 p6 tx 0/0 rx 1100/11",
                "fd00::1 -> 2001:db8::5 p6 tx 9700/16 rx 0/0",
                "fd00::1 -> 2001:db8::53 p17 tx 200/2 rx 0/0",
                "fd00::1 -> 2001:db8::7 p58 tx 0/0 rx 208/2",
                "fd00::1 -> 2001:db8::9 p6 tx 0/0 rx 2200/4",
            ];
        Assert.Equal(expected, Flows(pending));
    }

    [Fact]
    public async Task Deltas_between_reads_follow_the_kernel_counters()
    {
        using var maps = new CiliumMaps();
        var fd = maps.Create(Tcp4, ipv6: false);
        var conntrack = Reader(maps, CiliumCounterLayout.Split, CiliumClockSource.Ktime);
        var key = CiliumMaps.Key("10.0.0.1", 40000, "198.18.0.5", 443, 6, CiliumMaps.Out);
        var pending = new PendingFlows();
        var reducer = new ConntrackReducer(new Pods("10.0.0.1"), new PublicAddresses(CidrSet.Parse(["10.0.0.0/8"])), groupPublicDestinations: false, pending);
        var reader = new CiliumFlowReader(conntrack, reducer, NullLogger.Instance, TestMetrics.Conntrack());

        BpfSyscall.Update(fd, key, CiliumMaps.SplitValue(1, 100, 2, 200, conntrack.Clock.LifetimeIn(60, CiliumClockSource.Ktime)));
        await reader.ReadAsync(TestContext.Current.CancellationToken);
        var first = Flows(pending);
        BpfSyscall.Update(fd, key, CiliumMaps.SplitValue(4, 700, 5, 900, conntrack.Clock.LifetimeIn(60, CiliumClockSource.Ktime)));
        await reader.ReadAsync(TestContext.Current.CancellationToken);
        var second = Flows(pending);

        Assert.Equal(["10.0.0.1 -> 198.18.0.5 p6 tx 200/2 rx 100/1"], first);
        Assert.Equal(["10.0.0.1 -> 198.18.0.5 p6 tx 700/3 rx 600/3"], second);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_map_of_100000_live_entries_in_524288_slots_is_read_whole(bool batch)
    {
        using var maps = new CiliumMaps();
        var fd = maps.Create(Tcp4, ipv6: false, maxEntries: 524_288);
        var conntrack = Reader(maps, CiliumCounterLayout.Split, CiliumClockSource.Ktime);
        var lifetime = conntrack.Clock.LifetimeIn(3600, CiliumClockSource.Ktime);
        for (var i = 0; i < 100_000; i++)
        {
            var src = $"10.{(i >> 16) & 0xFF}.{(i >> 8) & 0xFF}.{i & 0xFF}";
            BpfSyscall.Update(fd, CiliumMaps.Key(src, (ushort)(1024 + (i % 60000)), "198.18.0.1", 443, 6, CiliumMaps.Out), CiliumMaps.SplitValue(1, 10, 1, (ulong)i, lifetime));
        }

        conntrack.Maps[0].UseBatch = batch;
        var sink = new Counting();
        conntrack.Dump(sink);

        Assert.Equal(100_000, sink.Count);
        Assert.Equal(100_000, conntrack.Maps[0].LastCount);
        Assert.Equal((100_000UL * 99_999 / 2) + (100_000UL * 10), sink.Bytes);
        Assert.InRange(sink.MaxTimeout, 3595UL, 3600UL);
        Assert.Equal(batch, conntrack.Maps[0].UseBatch);
    }

    [Fact]
    public void A_value_size_of_no_known_layout_is_a_clear_error_naming_the_map_and_the_sizes()
    {
        using var maps = new CiliumMaps();
        maps.Create(Any4, ipv6: false, valueSize: 64);
        var conntrack = Reader(maps);

        var error = Assert.Throws<FlowSourceUnavailableException>(() => conntrack.Dump(new Counting()));

        Assert.Contains(Path.Combine(maps.Globals, Any4), error.Message, StringComparison.Ordinal);
        Assert.Contains("64-byte values", error.Message, StringComparison.Ordinal);
        Assert.Contains("values of 56 bytes", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_map_removed_while_being_read_ends_the_read_with_an_error_and_the_next_read_recovers(bool batch)
    {
        using var maps = new CiliumMaps();
        var fd = maps.Create(Tcp4, ipv6: false, maxEntries: 65_536);
        var conntrack = Reader(maps, CiliumCounterLayout.Split, CiliumClockSource.Ktime);
        var lifetime = conntrack.Clock.LifetimeIn(60, CiliumClockSource.Ktime);
        for (var i = 0; i < 20_000; i++)
        {
            BpfSyscall.Update(fd, CiliumMaps.Key($"10.1.{i >> 8}.{i & 0xFF}", 40000, "198.18.0.1", 443, 6, CiliumMaps.Out), CiliumMaps.SplitValue(1, 1, 1, 1, lifetime));
        }

        var map = conntrack.Maps[0];
        map.UseBatch = batch;
        map.BetweenChunks = () =>
        {
            maps.Unpin(Tcp4);
            map.BetweenChunks = null;
        };
        var error = Assert.Throws<CiliumMapException>(() => conntrack.Dump(new Counting()));
        Assert.Contains("was removed while it was being read", error.Message, StringComparison.Ordinal);

        // Cilium pins a new map; the next read reads it.
        var again = maps.Create(Tcp4, ipv6: false);
        BpfSyscall.Update(again, CiliumMaps.Key("10.0.0.1", 40000, "198.18.0.5", 443, 6, CiliumMaps.Out), CiliumMaps.SplitValue(1, 10, 1, 20, lifetime));
        var sink = new Counting();
        conntrack.Dump(sink);
        Assert.Equal((1, 30UL), (sink.Count, sink.Bytes));
    }

    [Fact]
    public void Maps_that_do_not_exist_are_skipped()
    {
        using var maps = new CiliumMaps();
        var fd = maps.Create(Tcp4, ipv6: false);
        var conntrack = Reader(maps);
        BpfSyscall.Update(fd, CiliumMaps.Key("10.0.0.1", 40000, "198.18.0.5", 443, 6, CiliumMaps.Out), CiliumMaps.SplitValue(1, 10, 1, 20, conntrack.Clock.LifetimeIn(60, CiliumClockSource.Ktime)));

        var sink = new Counting();
        conntrack.Dump(sink);

        Assert.Equal((1, 1), (conntrack.MapsFound, sink.Count));
    }

    [Fact]
    public void Dump_prints_Cilium_entries_in_the_netfilter_dump_lines()
    {
        using var maps = new CiliumMaps();
        var clock = new CiliumClock(CiliumClockSource.Ktime);
        Write(maps, CiliumCounterLayout.Split, () => clock.LifetimeIn(120, CiliumClockSource.Ktime));
        var output = new StringWriter();
        var error = new StringWriter();

        var code = CollectorCommands.Run(["dump", "--source", "cilium", "--bpf-root", maps.Root], output, error);

        Assert.True(code == 0, error.ToString());
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(Connections.Length - 4, lines.Count);
        var outbound = Assert.Single(lines, l => l.GetProperty("dst").GetString() == "198.18.0.5");
        Assert.Equal(("10.0.0.1", 40000, 443, "198.18.0.5", 1000UL, 5000UL), (
            outbound.GetProperty("src").GetString(), outbound.GetProperty("src_port").GetInt32(), outbound.GetProperty("dst_port").GetInt32(),
            outbound.GetProperty("reply_src").GetString(), outbound.GetProperty("tx_bytes").GetUInt64(), outbound.GetProperty("rx_bytes").GetUInt64()));
        Assert.InRange(outbound.GetProperty("expires_in_s").GetInt32(), 115, 120);

        var reduced = new StringWriter();
        Assert.Equal(0, CollectorCommands.Run(["dump", "--source", "cilium", "--bpf-root", maps.Root, "--reduced"], reduced, error));
        Assert.Contains("\"src\":\"10.0.0.1\",\"dst\":\"198.18.0.5\",\"tx_bytes\":1000,\"rx_bytes\":5000", reduced.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Dump_of_a_1_14_map_holding_only_an_outbound_entry_reports_what_it_received()
    {
        // A node whose pods only call out: no IN entry tells the layout, the outbound entry's rx does.
        using var maps = new CiliumMaps();
        var fd = maps.Create(Tcp4, ipv6: false);
        var lifetime = new CiliumClock(CiliumClockSource.Ktime).LifetimeIn(120, CiliumClockSource.Ktime);
        BpfSyscall.Update(fd, CiliumMaps.Key("10.0.0.1", 40000, "198.18.0.5", 443, 6, CiliumMaps.Out), CiliumMaps.SplitValue(7, 7_000, 11, 123_456, lifetime));
        var output = new StringWriter();
        var error = new StringWriter();

        var code = CollectorCommands.Run(["dump", "--source", "cilium", "--bpf-root", maps.Root], output, error);

        Assert.True(code == 0, error.ToString());
        var line = JsonDocument.Parse(Assert.Single(output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries))).RootElement;
        Assert.Equal((11UL, 123_456UL, 7UL, 7_000UL), (
            line.GetProperty("tx_packets").GetUInt64(), line.GetProperty("tx_bytes").GetUInt64(),
            line.GetProperty("rx_packets").GetUInt64(), line.GetProperty("rx_bytes").GetUInt64()));
    }

    [Theory]
    [InlineData("198.18.0.44")]
    [InlineData("2001:db8::44")]
    [InlineData("fd00::2")]
    public void A_NAT_address_in_the_first_bytes_of_a_newer_outbound_entry_does_not_read_as_separate_counters(string natAddress)
    {
        // The newest source overlays an egress entry's NAT address on bytes 0-15 (reserved0, backend_id).
        using var maps = new CiliumMaps();
        var fd = maps.Create(Tcp4, ipv6: false);
        var conntrack = Reader(maps);
        var value = CiliumMaps.CombinedValue(18, 6_000, conntrack.Clock.LifetimeIn(60, CiliumClockSource.Ktime));
        System.Net.IPAddress.Parse(natAddress).GetAddressBytes().CopyTo(value, 0);
        BpfSyscall.Update(fd, CiliumMaps.Key("10.0.0.1", 40000, "198.18.0.5", 443, 6, CiliumMaps.Out), value);
        var sink = new Counting();

        conntrack.Dump(sink);

        Assert.Equal(CiliumCounterLayout.Auto, conntrack.Layout);
        Assert.Equal((1, 6_000UL), (sink.Count, sink.Bytes));
    }

    [Fact]
    public void An_inbound_entry_tells_the_layout_before_an_outbound_one_that_only_looks_answered()
    {
        // 1.16+: an IN entry leaves bytes 0-15 zero; an OUT entry's NAT address happens to read as 10 packets of 500 bytes.
        using var maps = new CiliumMaps();
        var fd = maps.Create(Tcp6, ipv6: true);
        var conntrack = Reader(maps);
        var lifetime = conntrack.Clock.LifetimeIn(60, CiliumClockSource.Ktime);
        var nat = CiliumMaps.CombinedValue(18, 6_000, lifetime);
        System.Net.IPAddress.Parse("a00::8813:0:0:0").GetAddressBytes().CopyTo(nat, 0);
        BpfSyscall.Update(fd, CiliumMaps.Key("fd00::1", 40000, "2001:db8::5", 443, 6, CiliumMaps.Out), nat);
        BpfSyscall.Update(fd, CiliumMaps.Key("2001:db8::9", 6000, "fd00::1", 8443, 6, CiliumMaps.In), CiliumMaps.CombinedValue(4, 2_200, lifetime));

        conntrack.Dump(new Counting());

        Assert.Equal(CiliumCounterLayout.Combined, conntrack.Layout);
    }

    [Fact]
    public void Auto_picks_Cilium_where_its_globals_are_pinned_and_netfilter_elsewhere()
    {
        using var maps = new CiliumMaps();
        var empty = Directory.CreateTempSubdirectory("egt-nobpf-");
        try
        {
            Assert.Equal(FlowSource.Cilium, new CollectorOptions { BpfRoot = maps.Root }.ResolveSource());
            Assert.Equal(FlowSource.Netfilter, new CollectorOptions { BpfRoot = empty.FullName }.ResolveSource());
            Assert.Equal(FlowSource.Netfilter, new CollectorOptions { BpfRoot = maps.Root, Source = CollectorSource.Netfilter }.ResolveSource());
        }
        finally
        {
            empty.Delete();
        }
    }
}
