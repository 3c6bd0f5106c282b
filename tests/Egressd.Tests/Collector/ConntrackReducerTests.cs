using Egressd.Collector.Conntrack;
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

    private static readonly CidrSet Private = CidrSet.Parse(["10.0.0.0/8", "fc00::/7"]);

    private static ConntrackReducer Reducer(ILocalPods pods, bool groupPublicDestinations = false) =>
        new(pods, Private, groupPublicDestinations, new PendingFlows());

    private static ConntrackEntry Entry(string src, string dst, string replySrc, ulong origBytes, ulong replyBytes, uint id = 1, bool destroyed = false) => new()
    {
        Original = new ConntrackTuple { Source = IpAddr.Parse(src), Destination = IpAddr.Parse(dst), Protocol = 6, SourcePort = 40000, DestinationPort = 80 },
        Reply = new ConntrackTuple { Source = IpAddr.Parse(replySrc), Destination = IpAddr.Parse(src), Protocol = 6, SourcePort = 80, DestinationPort = 40000 },
        OriginalCounters = new ConntrackCounters(origBytes / 100, origBytes),
        ReplyCounters = new ConntrackCounters(replyBytes / 100, replyBytes),
        HasCounters = true,
        Id = id,
        Destroyed = destroyed,
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
        Assert.Equal(("10.1.0.5", "10.2.0.9", "10.96.0.15", 6), (flow.SourceIp, flow.DestinationIp, flow.OriginalDestinationIp, flow.Protocol));
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
        Assert.Equal(("10.1.0.5", "10.2.0.9", 8000UL, 200UL), (flow.SourceIp, flow.DestinationIp, flow.TxBytes, flow.RxBytes));
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
        Assert.Equal(20UL, flows.Single(f => f.DestinationIp == "0.0.0.0").TxBytes);
        Assert.Single(flows, f => f.DestinationIp == "::");
        Assert.Single(flows, f => f.DestinationIp == "10.2.0.9");
    }
}
