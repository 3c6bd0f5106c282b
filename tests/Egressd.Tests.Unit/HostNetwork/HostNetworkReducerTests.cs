using Egressd.Collector.Flows;
using Egressd.Collector.HostNetwork;
using Egressd.Collector.Pods;
using Egressd.Contracts;
using Egressd.Shared.Network;

namespace Egressd.Tests.HostNetwork;

/// <summary>The reducer's side of host-network attribution, with the socket lookups played by a table.</summary>
public sealed class HostNetworkReducerTests
{
    private const string NodeIp = "192.168.5.10";

    private sealed class Pods : ILocalPods
    {
        public string Description => "test";

        public bool Contains(IpAddr address) => address == IpAddr.Parse("10.244.1.10");

        public bool IsNodeAddress(IpAddr address) => address == IpAddr.Parse(NodeIp);
    }

    /// <summary>Owners by the node's local port, as the socket table would give them; what is missing is unresolved.</summary>
    private sealed class Sockets : IHostNetworkAttribution
    {
        public Dictionary<ushort, HostOwner> ByPort { get; } = [];

        public void BeginRead()
        {
        }

        public HostOwner Resolve(in ConntrackTuple tuple) => ByPort.GetValueOrDefault(tuple.SourcePort);
    }

    private static ConntrackEntry Entry(string src, ushort sport, string dst, ushort dport, ulong origBytes, ulong replyBytes, uint id, bool destroyed = false) => new()
    {
        Original = new ConntrackTuple { Source = IpAddr.Parse(src), Destination = IpAddr.Parse(dst), Protocol = 6, SourcePort = sport, DestinationPort = dport },
        Reply = new ConntrackTuple { Source = IpAddr.Parse(dst), Destination = IpAddr.Parse(src), Protocol = 6, SourcePort = dport, DestinationPort = sport },
        OriginalCounters = new ConntrackCounters(1, origBytes),
        ReplyCounters = new ConntrackCounters(1, replyBytes),
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

    private static ConntrackReducer Reducer(Sockets sockets) =>
        new(new Pods(), new PublicAddresses(CidrSet.Parse(["10.0.0.0/8"])), false, new PendingFlows(), hostNetwork: sockets);

    [Fact]
    public void Flows_of_one_node_address_go_to_the_pod_whose_socket_carries_each_and_the_rest_to_the_node()
    {
        var sockets = new Sockets();
        sockets.ByPort[40000] = new HostOwner(HostOutcome.Pod, "monitoring/node-exporter-x7k2p");
        sockets.ByPort[40001] = new HostOwner(HostOutcome.Pod, "kube-system/kube-proxy-abcde");
        sockets.ByPort[40002] = new HostOwner(HostOutcome.Node, Unit: "kubelet.service");
        var reducer = Reducer(sockets);

        var flows = Read(
            reducer,
            Entry(NodeIp, 40000, "198.18.7.9", 443, 1000, 5000, id: 1),
            Entry(NodeIp, 40001, "198.18.7.9", 443, 300, 700, id: 2),
            Entry(NodeIp, 40002, "198.18.7.9", 443, 20, 30, id: 3),
            Entry(NodeIp, 40003, "198.18.7.9", 443, 4, 6, id: 4));

        Assert.Equal(4, flows.Count);
        Assert.All(flows, f => Assert.Equal(NodeIp, f.SourceIp.ToString()));
        var byOwner = flows.ToDictionary(f => (f.SourcePod, f.SourceUnit), f => (f.TxBytes, f.RxBytes));
        Assert.Equal((1000UL, 5000UL), byOwner[("monitoring/node-exporter-x7k2p", null)]);
        Assert.Equal((300UL, 700UL), byOwner[("kube-system/kube-proxy-abcde", null)]);
        Assert.Equal((20UL, 30UL), byOwner[(null, "kubelet.service")]);
        Assert.Equal((4UL, 6UL), byOwner[(null, null)]);
        Assert.Equal((7000UL, 50UL, 10UL), reducer.HostNetworkBytes);
    }

    [Fact]
    public void An_entry_keeps_its_owner_after_the_socket_is_gone_so_its_last_bytes_are_the_pods_too()
    {
        var sockets = new Sockets();
        sockets.ByPort[40000] = new HostOwner(HostOutcome.Pod, "monitoring/agent-1");
        var reducer = Reducer(sockets);
        Read(reducer, Entry(NodeIp, 40000, "198.18.7.9", 443, 1000, 2000, id: 1));

        sockets.ByPort.Clear();
        var later = Assert.Single(Read(reducer, Entry(NodeIp, 40000, "198.18.7.9", 443, 1500, 2600, id: 1)));
        reducer.BeginDump();
        reducer.OnEntry(Entry(NodeIp, 40000, "198.18.7.9", 443, 1800, 2700, id: 1, destroyed: true));
        reducer.EndDump();
        var last = Assert.Single(reducer.Pending.Freeze("node", "boot", 2, FlowSource.Netfilter, DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, int.MaxValue)[0].Flows);

        Assert.Equal(("monitoring/agent-1", 500UL, 600UL), (later.SourcePod, later.TxBytes, later.RxBytes));
        Assert.Equal(("monitoring/agent-1", 300UL, 100UL), (last.SourcePod, last.TxBytes, last.RxBytes));
        Assert.Equal((4500UL, 0UL, 0UL), reducer.HostNetworkBytes);
    }

    [Fact]
    public void An_unresolved_end_is_the_nodes_and_is_looked_up_again_at_the_next_read()
    {
        var sockets = new Sockets();
        var reducer = Reducer(sockets);
        var first = Assert.Single(Read(reducer, Entry(NodeIp, 40000, "198.18.7.9", 443, 100, 200, id: 1)));
        sockets.ByPort[40000] = new HostOwner(HostOutcome.Pod, "monitoring/agent-1");
        var second = Assert.Single(Read(reducer, Entry(NodeIp, 40000, "198.18.7.9", 443, 150, 260, id: 1)));

        Assert.Equal((null, null), (first.SourcePod, first.SourceUnit));
        Assert.Equal("monitoring/agent-1", second.SourcePod);
        Assert.Equal((110UL, 0UL, 300UL), reducer.HostNetworkBytes);
    }

    [Fact]
    public void A_node_answering_a_pod_is_reported_from_both_sides_each_with_its_owner()
    {
        var sockets = new Sockets();
        // The node's listener answers on its port 10250: the reply tuple's source port.
        sockets.ByPort[10250] = new HostOwner(HostOutcome.Node, Unit: "kubelet.service");
        var reducer = Reducer(sockets);
        var flows = Read(reducer, Entry("10.244.1.10", 50000, NodeIp, 10250, 400, 9000, id: 1));

        var pod = Assert.Single(flows, f => f.SourceIp.ToString() == "10.244.1.10");
        var node = Assert.Single(flows, f => f.SourceIp.ToString() == NodeIp);
        Assert.Equal((400UL, 9000UL, null), (pod.TxBytes, pod.RxBytes, pod.SourcePod));
        Assert.Equal((9000UL, 400UL, "kubelet.service"), (node.TxBytes, node.RxBytes, node.SourceUnit));
    }

    [Fact]
    public void A_hostnetwork_pod_of_an_excluded_namespace_is_not_reported()
    {
        var sockets = new Sockets();
        sockets.ByPort[40000] = new HostOwner(HostOutcome.Excluded);
        var reducer = Reducer(sockets);
        Assert.Empty(Read(reducer, Entry(NodeIp, 40000, "198.18.7.9", 443, 100, 200, id: 1)));
    }

    [Fact]
    public void Without_attribution_node_address_flows_are_not_reported_as_before()
    {
        var reducer = new ConntrackReducer(new Pods(), new PublicAddresses(CidrSet.Parse(["10.0.0.0/8"])), false, new PendingFlows());
        Assert.Empty(Read(reducer, Entry(NodeIp, 40000, "198.18.7.9", 443, 100, 200, id: 1)));
    }
}
