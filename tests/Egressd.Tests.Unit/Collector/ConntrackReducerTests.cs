using Egressd.Collector.Flows;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Tests.Collector;

public sealed class ConntrackReducerTests
{
    private sealed class Pods(params string[] ips) : ILocalPods
    {
        private readonly HashSet<IpAddr> set = [.. ips.Select(IpAddr.Parse)];

        public string Description => "test";

        public bool Contains(IpAddr address) => set.Contains(address);

        public void Add(string ip) => set.Add(IpAddr.Parse(ip));
    }

    private static readonly PublicAddresses Public = new(CidrSet.Parse(["10.0.0.0/8", "fc00::/7"]));

    private static ConntrackReducer Reducer(ILocalPods pods, bool groupPublicDestinations = false) =>
        new(pods, Public, groupPublicDestinations, new PendingFlows());

    private static ConntrackEntry Entry(string src, string dst, string replySrc, ulong origBytes, ulong replyBytes, uint id = 1, bool destroyed = false, ulong start = 0) => new()
    {
        Original = new ConntrackTuple { Source = IpAddr.Parse(src), Destination = IpAddr.Parse(dst), Protocol = 6, SourcePort = 40000, DestinationPort = 80 },
        Reply = new ConntrackTuple { Source = IpAddr.Parse(replySrc), Destination = IpAddr.Parse(src), Protocol = 6, SourcePort = 80, DestinationPort = 40000 },
        OriginalCounters = new ConntrackCounters(origBytes / 100, origBytes),
        ReplyCounters = new ConntrackCounters(replyBytes / 100, replyBytes),
        HasCounters = true,
        Id = id,
        Destroyed = destroyed,
        StartNanos = start,
    };

    private static List<FlowRecord> Read(ConntrackReducer reducer, params ConntrackEntry[] dump)
    {
        reducer.BeginDump();
        foreach (var entry in dump)
        {
            reducer.OnEntry(entry);
        }

        reducer.EndDump();
        return [.. reducer.Pending.Freeze("node", "boot", 1, FlowSource.Netfilter, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, int.MaxValue)[0].Flows];
    }

    [Fact]
    public void Deltas_between_reads_credit_the_backend_and_keep_the_service_address()
    {
        var reducer = Reducer(new Pods("10.1.0.5"));

        var first = Read(reducer, Entry("10.1.0.5", "10.96.0.15", "10.2.0.9", 1000, 5000));
        var second = Read(reducer, Entry("10.1.0.5", "10.96.0.15", "10.2.0.9", 1500, 9000));
        var third = Read(reducer, Entry("10.1.0.5", "10.96.0.15", "10.2.0.9", 1500, 9000));

        var flow = Assert.Single(first);
        Assert.Equal(("10.1.0.5", "10.2.0.9", "10.96.0.15", 6), (flow.SourceIp.ToString(), flow.DestinationIp.ToString(), flow.OriginalDestinationIp?.ToString(), flow.Protocol));
        Assert.Equal((1000UL, 5000UL), (flow.TxBytes, flow.RxBytes));
        Assert.Equal((500UL, 4000UL), (Assert.Single(second).TxBytes, second[0].RxBytes));
        Assert.Empty(third);
    }

    [Fact]
    public void Counters_lower_than_last_time_are_a_new_entry_not_a_negative_delta()
    {
        var reducer = Reducer(new Pods("10.1.0.5"));
        Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 5000, 5000));
        var after = Assert.Single(Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 300, 700)));
        Assert.Equal((300UL, 700UL), (after.TxBytes, after.RxBytes));
        Assert.Null(after.OriginalDestinationIp);
    }

    [Fact]
    public void Inbound_entry_is_reported_mirrored_from_the_local_pods_side()
    {
        var reducer = Reducer(new Pods("10.1.0.5"));
        var flow = Assert.Single(Read(reducer, Entry("10.2.0.9", "10.1.0.5", "10.1.0.5", 200, 8000)));
        Assert.Equal(("10.1.0.5", "10.2.0.9", 8000UL, 200UL), (flow.SourceIp.ToString(), flow.DestinationIp.ToString(), flow.TxBytes, flow.RxBytes));
    }

    [Fact]
    public void Destroy_event_counts_the_last_delta_once_even_if_a_dump_still_lists_the_entry()
    {
        var reducer = Reducer(new Pods("10.1.0.5"));
        Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 1000, 1000));
        reducer.OnEntry(Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 1800, 1400, destroyed: true));
        // The dump began before the entry was unlinked and still lists it.
        var window = Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 1800, 1400));
        Assert.Equal((800UL, 400UL), (Assert.Single(window).TxBytes, window[0].RxBytes));
        Assert.Empty(Read(reducer));
        Assert.Equal(0, reducer.TrackedEntries);
    }

    [Fact]
    public void Entry_never_dumped_is_counted_whole_from_its_destroy_event()
    {
        var reducer = Reducer(new Pods("10.1.0.5"));
        reducer.OnEntry(Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 640, 1920, id: 99, destroyed: true));
        var flow = Assert.Single(Read(reducer));
        Assert.Equal((640UL, 1920UL, 6UL, 19UL), (flow.TxBytes, flow.RxBytes, flow.TxPackets, flow.RxPackets));
    }

    [Fact]
    public void Entries_gone_from_the_table_are_forgotten_and_non_local_sources_dropped()
    {
        var reducer = Reducer(new Pods("10.1.0.5"));
        var window = Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 10, 10, id: 1), Entry("10.3.0.1", "10.4.0.1", "10.4.0.1", 10, 10, id: 2));
        Assert.Single(window);
        Assert.Equal(2, reducer.TrackedEntries);
        Assert.Equal(1, reducer.ActiveEntries);
        // One dump of grace, for a destroy event that comes late.
        Read(reducer);
        Assert.Equal(2, reducer.TrackedEntries);
        Read(reducer);
        Assert.Equal(0, reducer.TrackedEntries);
    }

    [Fact]
    public void Traffic_of_a_pod_not_known_yet_is_counted_once_it_is_known()
    {
        var pods = new Pods();
        var reducer = Reducer(pods);
        Assert.Empty(Read(reducer, Entry("10.1.0.7", "10.2.0.9", "10.2.0.9", 1000, 2000)));
        Assert.Empty(Read(reducer, Entry("10.1.0.7", "10.2.0.9", "10.2.0.9", 1500, 2500)));
        pods.Add("10.1.0.7");
        var flow = Assert.Single(Read(reducer, Entry("10.1.0.7", "10.2.0.9", "10.2.0.9", 1800, 2600)));
        Assert.Equal((1800UL, 2600UL), (flow.TxBytes, flow.RxBytes));
        Assert.Equal((300UL, 0UL), (Assert.Single(Read(reducer, Entry("10.1.0.7", "10.2.0.9", "10.2.0.9", 2100, 2600))).TxBytes, 0UL));
    }

    [Fact]
    public void Public_destinations_can_be_grouped()
    {
        var reducer = Reducer(new Pods("10.1.0.5", "fd00::5"), groupPublicDestinations: true);
        var flows = Read(reducer,
            Entry("10.1.0.5", "198.18.0.1", "198.18.0.1", 10, 10, id: 1),
            Entry("10.1.0.5", "198.18.0.2", "198.18.0.2", 10, 10, id: 2),
            Entry("fd00::5", "2001:db8::1", "2001:db8::1", 10, 10, id: 3),
            Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 10, 10, id: 4));
        Assert.Equal(20UL, flows.Single(f => f.DestinationIp == IpAddr.Parse("0.0.0.0")).TxBytes);
        Assert.Single(flows, f => f.DestinationIp == IpAddr.Parse("::"));
        Assert.Single(flows, f => f.DestinationIp == IpAddr.Parse("10.2.0.9"));
    }

    private const ulong T1 = 1_700_000_000_000_000_000;
    private const ulong T2 = T1 + 50_000_000;
    private const ulong T3 = T2 + 50_000_000;

    private static (ulong Tx, ulong Rx) Sum(List<FlowRecord> flows) => (flows.Aggregate(0UL, (a, f) => a + f.TxBytes), flows.Aggregate(0UL, (a, f) => a + f.RxBytes));

    [Fact]
    public void Successive_connections_on_one_reused_tuple_and_id_are_each_counted_once_whatever_the_order()
    {
        // The kernel reuses the slot, so the id is the same; only the start time differs.
        var a = new Pods("10.1.0.5");

        // Dump, then the predecessor's destroy event and the successor in the next dump, the event drained after it.
        var reducer = Reducer(a);
        var total = Sum(Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 1000, 3000, start: T1)));
        reducer.BeginDump();
        reducer.OnEntry(Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 200, 400, start: T2));
        reducer.OnEntry(Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 1100, 3300, destroyed: true, start: T1));
        reducer.EndDump();
        var second = Sum([.. reducer.Pending.Freeze("node", "boot", 2, FlowSource.Netfilter, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, int.MaxValue)[0].Flows]);
        // The successor ends (its event), a third opens, and a dump still lists the second one.
        reducer.OnEntry(Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 250, 450, destroyed: true, start: T2));
        var third = Sum(Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 250, 450, start: T2), Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 70, 90, start: T3)));
        var fourth = Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 70, 90, start: T3));

        Assert.Equal((1000UL, 3000UL), total);
        Assert.Equal((100UL + 200UL, 300UL + 400UL), second);
        Assert.Equal((50UL + 70UL, 50UL + 90UL), third);
        Assert.Empty(fourth);
    }

    [Fact]
    public void Destroy_event_lower_than_the_last_read_does_not_end_the_live_successor()
    {
        // Without start times: the successor was read under the same key, then the predecessor's event comes.
        var reducer = Reducer(new Pods("10.1.0.5"));
        Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 5000, 5000));
        Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 9000, 9000));
        reducer.OnEntry(Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 6000, 6000, destroyed: true));
        Assert.Empty(Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 9000, 9000)));
        Assert.Equal((100UL, 100UL), Sum(Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 9100, 9100))));
        Assert.Equal(1, reducer.StaleDestroyEvents);
    }

    [Fact]
    public void Destroy_event_that_comes_dumps_after_its_entry_left_the_table_counts_only_what_was_not_read()
    {
        // A flush, or a collector starved of CPU: the entry is gone from several dumps (and its
        // successor on the same tuple read) before its destroy event reaches the reducer.
        var reducer = Reducer(new Pods("10.1.0.5"));
        Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 5000, 7000, id: 1, start: T1));
        Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 300, 400, id: 2, start: T2));
        Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 300, 400, id: 2, start: T2));
        Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 300, 400, id: 2, start: T2));
        reducer.OnEntry(Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 5100, 7200, id: 1, destroyed: true, start: T1));
        Assert.Equal((100UL, 200UL), Sum(Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 300, 400, id: 2, start: T2))));
    }

    [Fact]
    public void After_a_restart_entries_continue_from_the_checkpoint_new_ones_count_from_zero_and_others_are_a_counted_baseline()
    {
        var pods = new Pods("10.1.0.5");
        var before = Reducer(pods);
        Read(before,
            Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 1000, 2000, id: 1, start: T1),
            Entry("10.1.0.5", "10.2.0.8", "10.2.0.8", 10, 20, id: 2));
        var saved = before.CheckpointEntries().ToList();
        var checkpointAt = DateTimeOffset.UnixEpoch.AddTicks((long)(T2 / 100));

        var after = Reducer(pods);
        after.Restore(saved, checkpointAt);
        var window = Read(after,
            Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 1500, 2600, id: 1, start: T1),       // continues: 500 + 600
            Entry("10.1.0.5", "10.2.0.8", "10.2.0.8", 15, 25, id: 2),                     // no start time, in the checkpoint: 5 + 5
            Entry("10.1.0.5", "10.2.0.7", "10.2.0.7", 300, 400, id: 3, start: T3),         // opened after the checkpoint: whole
            Entry("10.1.0.5", "10.2.0.6", "10.2.0.6", 7000, 8000, id: 4, start: T1 - 1));  // older, missing: baseline
        Assert.Equal(1100UL, window.Single(f => f.DestinationIp == IpAddr.Parse("10.2.0.9")).TxBytes + window.Single(f => f.DestinationIp == IpAddr.Parse("10.2.0.9")).RxBytes);
        Assert.Equal((5UL, 5UL), (window.Single(f => f.DestinationIp == IpAddr.Parse("10.2.0.8")).TxBytes, window.Single(f => f.DestinationIp == IpAddr.Parse("10.2.0.8")).RxBytes));
        Assert.Equal((300UL, 400UL), (window.Single(f => f.DestinationIp == IpAddr.Parse("10.2.0.7")).TxBytes, window.Single(f => f.DestinationIp == IpAddr.Parse("10.2.0.7")).RxBytes));
        Assert.DoesNotContain(window, f => f.DestinationIp == IpAddr.Parse("10.2.0.6"));
        Assert.Equal(15_000UL, after.UncountedBytes);
        Assert.Equal((2, 1, 1), after.RestartOutcome);

        // From then on, the baseline entry counts its traffic, and an entry without a start time seen only now is new.
        var later = Read(after, Entry("10.1.0.5", "10.2.0.6", "10.2.0.6", 7100, 8000, id: 4, start: T1 - 1), Entry("10.1.0.5", "10.2.0.5", "10.2.0.5", 40, 0, id: 5));
        Assert.Equal(100UL, later.Single(f => f.DestinationIp == IpAddr.Parse("10.2.0.6")).TxBytes);
        Assert.Equal(40UL, later.Single(f => f.DestinationIp == IpAddr.Parse("10.2.0.5")).TxBytes);
    }

    [Fact]
    public void Without_a_checkpoint_live_entries_are_a_baseline_and_their_destroy_events_count_only_what_follows()
    {
        var pods = new Pods("10.1.0.5");
        var reducer = Reducer(pods);
        reducer.Restore(null, DateTimeOffset.UnixEpoch.AddTicks((long)(T2 / 100)));
        // An event queued before the first dump, of a connection older than this process: maybe counted already.
        reducer.OnEntry(Entry("10.1.0.5", "10.2.0.4", "10.2.0.4", 900, 100, id: 9, destroyed: true, start: T1));
        Assert.Empty(Read(reducer, Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 1000, 2000, start: T1)));
        reducer.OnEntry(Entry("10.1.0.5", "10.2.0.9", "10.2.0.9", 1010, 2020, destroyed: true, start: T1));
        Assert.Equal((10UL, 20UL), Sum(Read(reducer)));
        Assert.Equal(4000UL, reducer.UncountedBytes);
    }
}
