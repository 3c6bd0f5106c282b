using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Collector;

/// <summary>
/// hostNetwork pods told apart on a real kernel: processes of the node's network namespace open
/// their sockets from cgroup v2 directories laid out as kubelet lays them out (systemd and cgroupfs
/// drivers; containerd, CRI-O and Docker scope names; a static pod by its config hash), all from
/// the node's one address, and conntrack's own counters are the truth each pod's flows must equal.
/// </summary>
[Trait("Category", "Slow")]
public sealed class HostNetworkAttributionTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    /// <summary>The node's address the hostNetwork processes send from (the lab node's internal IP).</summary>
    private const string NodeIp = "10.244.1.1";

    private const string AgentUid = "1c5e7f2a-0b1d-4e8b-9f3a-2d6c8e4b7a10";
    private const string ProxyUid = "9d2b4c61-7e3f-4a58-b0c9-5f1e2a3d4b6c";
    private const string StaticHash = "6b3f9c0e2d7a41f8a5c4e9b1d0f27a63";

    [Fact]
    public async Task Each_node_address_flow_goes_to_the_pod_whose_socket_carries_it_and_the_rest_to_the_node()
    {
        using var lab = new NetnsLab();
        using var cgroups = new CgroupLab(lab.Id);
        // kube-proxy's ClusterIP for traffic the node itself sends.
        lab.Exec("node", "nft", "add chain inet egt output { type nat hook output priority -100 ; }");
        lab.Exec("node", "nft", $"add rule inet egt output ip daddr {NetnsLab.ServiceV4} tcp dport 80 dnat ip to {NetnsLab.V4("c")}:8080");
        // A route for the service range, as a node has (the DNAT then sends it to c).
        lab.Exec("node", "ip", "route", "add", "10.96.0.0/12", "dev", "vc");

        var agent = cgroups.Create($"kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod{AgentUid.Replace('-', '_')}.slice/cri-containerd-4f2a9c0d1e.scope");
        var proxy = cgroups.Create($"kubepods/besteffort/pod{ProxyUid}/crio-77ab01.scope");
        var etcd = cgroups.Create($"kubepods.slice/kubepods-pod{StaticHash}.slice/docker-0badc0de.scope");
        var kubelet = cgroups.Create("system.slice/kubelet.service");
        var inventory = LabInventory.Write(
            lab,
            new { @namespace = "monitoring", name = "agent-x7k2p", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = AgentUid, workloadKind = "DaemonSet", workloadName = "agent" },
            new { @namespace = "ingress", name = "proxy-4cd9f", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = ProxyUid, workloadKind = "DaemonSet", workloadName = "proxy" },
            new { @namespace = "infra", name = $"etcd-{lab.Node}", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = StaticHash, workloadKind = "Node", workloadName = lab.Node });
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:00.500", new()
        {
            ["Egressd:Inventory:File"] = inventory,
            ["Egressd:Collector:CgroupRoot"] = cgroups.Root,
        });
        await using var _ = host;

        Socket Open(string? cgroup, SocketType type, ProtocolType protocol)
        {
            Socket Make()
            {
                var socket = lab.SocketIn("node", AddressFamily.InterNetwork, type, protocol);
                socket.Bind(new IPEndPoint(IPAddress.Parse(NodeIp), 0));
                return socket;
            }

            return cgroup is null ? Make() : cgroups.Inside(cgroup, Make);
        }

        var c = IPAddress.Parse(NetnsLab.V4("c"));
        var ext = IPAddress.Parse(NetnsLab.V4("ext"));
        // A long transfer from the agent to a pod, alive across reads.
        var agentToPod = await TcpAsync(lab, Open(agent, SocketType.Stream, ProtocolType.Tcp), "c", c, 9301, 9301, 400_000, 100_000, host);
        // The proxy to an "internet" host, and to a ClusterIP (DNAT on the node's output path).
        var proxyToInternet = await TcpAsync(lab, Open(proxy, SocketType.Stream, ProtocolType.Tcp), "ext", ext, 9302, 9302, 50_000, 700_000, host);
        var proxyToService = await TcpAsync(lab, Open(proxy, SocketType.Stream, ProtocolType.Tcp), "c", IPAddress.Parse(NetnsLab.ServiceV4), 80, 8080, 30_000, 60_000, host);
        // UDP request/response: connected from the agent, unconnected (sendto) from the static pod.
        var agentUdp = await UdpAsync(lab, Open(agent, SocketType.Dgram, ProtocolType.Udp), "ext", ext, 9303, connect: true, 8, 400, 900, host);
        var etcdUdp = await UdpAsync(lab, Open(etcd, SocketType.Dgram, ProtocolType.Udp), "ext", ext, 9304, connect: false, 5, 200, 1300, host);
        // The node itself: kubelet's unit, and a process in no pod's cgroup and no unit.
        var kubeletToPod = await TcpAsync(lab, Open(kubelet, SocketType.Stream, ProtocolType.Tcp), "c", c, 9305, 9305, 20_000, 10_000, host);
        var rootToInternet = await TcpAsync(lab, Open(null, SocketType.Stream, ProtocolType.Tcp), "ext", ext, 9306, 9306, 15_000, 5_000, host);
        // A pod connecting to the agent's listener on the node's address: the accepted socket is the agent's.
        using var listener = Open(agent, SocketType.Stream, ProtocolType.Tcp);
        var inbound = await InboundAsync(lab, listener, "c", 80_000, 20_000);

        var expected = new Dictionary<Key, (ulong Tx, ulong Rx)>();
        void Expect(Key key, (ulong OrigPackets, ulong OrigBytes, ulong ReplyPackets, ulong ReplyBytes) k, bool nodeOpened = true)
        {
            var t = expected.GetValueOrDefault(key);
            expected[key] = nodeOpened ? (t.Tx + k.OrigBytes, t.Rx + k.ReplyBytes) : (t.Tx + k.ReplyBytes, t.Rx + k.OrigBytes);
        }

        (ulong, ulong, ulong, ulong) Kernel(string protocol, int port) =>
            lab.KernelCounters("-p", protocol, "--orig-src", NodeIp, "--sport", port.ToString(CultureInfo.InvariantCulture));

        Expect(new("agent-x7k2p", null, NetnsLab.V4("c"), null, 6), Kernel("tcp", agentToPod));
        Expect(new("agent-x7k2p", null, NetnsLab.V4("c"), null, 6), lab.KernelCounters("-p", "tcp", "--orig-src", NetnsLab.V4("c"), "--sport", inbound.ToString(CultureInfo.InvariantCulture)), nodeOpened: false);
        Expect(new("proxy-4cd9f", null, NetnsLab.V4("ext"), null, 6), Kernel("tcp", proxyToInternet));
        Expect(new("proxy-4cd9f", null, NetnsLab.V4("c"), NetnsLab.ServiceV4, 6), Kernel("tcp", proxyToService));
        Expect(new("agent-x7k2p", null, NetnsLab.V4("ext"), null, 17), Kernel("udp", agentUdp));
        Expect(new($"etcd-{lab.Node}", null, NetnsLab.V4("ext"), null, 17), Kernel("udp", etcdUdp));
        Expect(new(null, "kubelet.service", NetnsLab.V4("c"), null, 6), Kernel("tcp", kubeletToPod));
        Expect(new(null, null, NetnsLab.V4("ext"), null, 6), Kernel("tcp", rootToInternet));
        Assert.True(expected[new("agent-x7k2p", null, NetnsLab.V4("c"), null, 6)].Tx > 420_000, "the kernel did not count the agent's transfers");

        Dictionary<Key, (ulong Tx, ulong Rx)> totals = [];
        var matched = await Eventually.TrueAsync(() =>
        {
            totals = Totals(flowLog, lab.Node);
            return expected.All(e => totals.GetValueOrDefault(e.Key) == e.Value);
        }, Patience);
        Assert.True(matched, string.Join('\n', expected.Select(e => $"{e.Key}: kernel {e.Value}, published {totals.GetValueOrDefault(e.Key)}"))
            + "\nall: " + string.Join("; ", totals.Select(t => $"{t.Key}={t.Value}")) + "\n" + await DiagnosticsAsync(host, flowLog, lab.Node));

        // Every line of the node's address names its pod fully, or the node.
        var lines = FlowLogFile.Read(flowLog, lab.Node).Where(l => l.SrcIp == NodeIp).ToList();
        Assert.Contains(lines, l => l is { SrcPod: "agent-x7k2p", SrcNamespace: "monitoring", SrcWorkloadKind: "DaemonSet", SrcWorkloadName: "agent" } && l.SrcNode == lab.Node);
        Assert.Contains(lines, l => l is { SrcPod: null, SrcWorkloadKind: "SystemdUnit", SrcWorkloadName: "kubelet.service" } && l.SrcNode == lab.Node);
        var metrics = await new HttpClient().GetStringAsync(new Uri(host.BaseAddress, "/metrics"), TestContext.Current.CancellationToken);
        Assert.Matches("egressd_collector_host_network_bytes_total\\{outcome=\"pod\"\\} [1-9]", metrics);
        Assert.Matches("egressd_collector_host_network_bytes_total\\{outcome=\"node\"\\} [1-9]", metrics);
    }

    [Fact]
    public async Task On_a_cgroup_v1_node_a_hostNetwork_pods_process_is_found_by_its_socket_and_a_process_outside_pods_is_the_node()
    {
        using var lab = new NetnsLab();
        using var v1 = new CgroupV1Lab(lab.Id);
        var agent = v1.Create($"kubepods/burstable/pod{AgentUid}/0f1e2d3c4b5a");
        var inventory = LabInventory.Write(
            lab,
            new { @namespace = "monitoring", name = "agent-x7k2p", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = AgentUid, workloadKind = "DaemonSet", workloadName = "agent" });
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:00.500", new()
        {
            ["Egressd:Inventory:File"] = inventory,
            ["Egressd:Collector:CgroupRoot"] = v1.Root,
            ["Egressd:Collector:ProcRoot"] = "/proc",
        });
        await using var _ = host;
        using var stop = new CancellationTokenSource();
        const int AgentPort = 9701, Upload = 40_000, Download = 90_000;
        var serving = ServeAsync(lab, "c", AgentPort, Upload, Download, stop.Token);

        // The agent: a process of its own in the pod's cgroup, in the node's namespace, its connection
        // held open until reads have seen it among the agent's open files.
        var node = NetnsLab.Namespace(lab.Id, "node");
        using var client = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sh")
        {
            ArgumentList = { "-c", $"echo $$ > {agent}/cgroup.procs && exec ip netns exec {node} socat -t 1 - TCP:{NetnsLab.V4("c")}:{AgentPort},bind={NodeIp}" },
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        var output = client.StandardOutput.BaseStream.CopyToAsync(Stream.Null, TestContext.Current.CancellationToken);
        await client.StandardInput.BaseStream.WriteAsync(new byte[Upload], TestContext.Current.CancellationToken);
        await client.StandardInput.BaseStream.FlushAsync(TestContext.Current.CancellationToken);
        await host.WaitForMoreReadsAsync(3, Patience);
        client.StandardInput.Close();
        await client.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(Patience, TestContext.Current.CancellationToken);
        await output;
        Assert.True(client.ExitCode == 0, $"the agent's client failed: {await client.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken)}");
        // The test process itself: in no pod.
        var nodeSocket = lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        nodeSocket.Bind(new IPEndPoint(IPAddress.Parse(NodeIp), 0));
        var fromNode = await TcpAsync(lab, nodeSocket, "ext", IPAddress.Parse(NetnsLab.V4("ext")), 9702, 9702, 20_000, 5_000, host);
        await stop.CancelAsync();
        await serving.WaitAsync(Patience, TestContext.Current.CancellationToken);

        var agentKernel = lab.KernelCounters("-p", "tcp", "--orig-src", NodeIp, "--dport", AgentPort.ToString(CultureInfo.InvariantCulture));
        var nodeKernel = lab.KernelCounters("-p", "tcp", "--orig-src", NodeIp, "--sport", fromNode.ToString(CultureInfo.InvariantCulture));
        Assert.True(agentKernel.OrigBytes > Upload && nodeKernel.OrigBytes > 20_000, $"the kernel counted {agentKernel} and {nodeKernel}");
        var expected = new Dictionary<Key, (ulong Tx, ulong Rx)>
        {
            [new("agent-x7k2p", null, NetnsLab.V4("c"), null, 6)] = (agentKernel.OrigBytes, agentKernel.ReplyBytes),
            [new(null, null, NetnsLab.V4("ext"), null, 6)] = (nodeKernel.OrigBytes, nodeKernel.ReplyBytes),
        };
        Dictionary<Key, (ulong Tx, ulong Rx)> totals = [];
        Assert.True(await Eventually.TrueAsync(() =>
        {
            totals = Totals(flowLog, lab.Node);
            return expected.All(e => totals.GetValueOrDefault(e.Key) == e.Value);
        }, Patience), string.Join('\n', expected.Select(e => $"{e.Key}: kernel {e.Value}, published {totals.GetValueOrDefault(e.Key)}"))
            + "\nall: " + string.Join("; ", totals.Select(t => $"{t.Key}={t.Value}")) + "\n" + await DiagnosticsAsync(host, flowLog, lab.Node));
    }

    [Fact]
    public async Task A_connection_opened_and_closed_between_two_reads_is_counted_whole_split_between_its_pod_and_the_node()
    {
        using var lab = new NetnsLab();
        using var cgroups = new CgroupLab(lab.Id);
        var agent = cgroups.Create($"kubepods/burstable/pod{AgentUid}/0f1e2d3c4b5a");
        var inventory = LabInventory.Write(
            lab,
            new { @namespace = "monitoring", name = "agent-x7k2p", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = AgentUid, workloadKind = "DaemonSet", workloadName = "agent" });
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:02", new()
        {
            ["Egressd:Inventory:File"] = inventory,
            ["Egressd:Collector:CgroupRoot"] = cgroups.Root,
        });
        await using var _ = host;
        await host.WaitForMoreReadsAsync(1, Patience);

        // Outbound, opened and closed at once: no read sees its socket open, so its cgroup is unknown.
        var ports = new List<int>();
        for (var i = 0; i < 5; i++)
        {
            var socket = cgroups.Inside(agent, () =>
            {
                var s = lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Bind(new IPEndPoint(IPAddress.Parse(NodeIp), 0));
                return s;
            });
            ports.Add(await TcpAsync(lab, socket, "b", IPAddress.Parse(NetnsLab.V4("b")), 9400 + i, 9400 + i, 3_000, 7_000, host: null));
        }

        (ulong Tx, ulong Rx) kernel = default;
        foreach (var port in ports)
        {
            var k = lab.KernelCounters("-p", "tcp", "--orig-src", NodeIp, "--sport", port.ToString(CultureInfo.InvariantCulture));
            kernel = (kernel.Tx + k.OrigBytes, kernel.Rx + k.ReplyBytes);
        }

        Assert.True(kernel.Tx > 15_000, $"the kernel counted {kernel}");
        (ulong Tx, ulong Rx) published = default;
        List<FlowLogEntry> lines = [];
        Assert.True(await Eventually.TrueAsync(() =>
        {
            lines = [.. FlowLogFile.Read(flowLog, lab.Node).Where(l => l.SrcIp == NodeIp && l.DstIp == NetnsLab.V4("b"))];
            published = (lines.Aggregate(0UL, (s, l) => s + l.TxBytes), lines.Aggregate(0UL, (s, l) => s + l.RxBytes));
            return published == kernel;
        }, Patience), $"published {published}, kernel {kernel}\n" + await DiagnosticsAsync(host, flowLog, lab.Node));

        // Never split among pods: each share is the agent's or the node's.
        Assert.All(lines, l => Assert.True(l.SrcPod is null or "agent-x7k2p", $"went to {l.SrcPod}"));
        await host.WaitForMoreReadsAsync(2, Patience);
        lines = [.. FlowLogFile.Read(flowLog, lab.Node).Where(l => l.SrcIp == NodeIp && l.DstIp == NetnsLab.V4("b"))];
        Assert.Equal(kernel, (lines.Aggregate(0UL, (s, l) => s + l.TxBytes), lines.Aggregate(0UL, (s, l) => s + l.RxBytes)));
    }

    [Fact]
    public async Task Many_connections_each_opened_and_closed_between_two_reads_are_all_their_pods()
    {
        using var lab = new NetnsLab();
        using var cgroups = new CgroupLab(lab.Id);
        var agent = cgroups.Create($"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{AgentUid.Replace('-', '_')}.slice/cri-containerd-2b7e41.scope");
        var inventory = LabInventory.Write(
            lab,
            new { @namespace = "monitoring", name = "agent-x7k2p", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = AgentUid, workloadKind = "DaemonSet", workloadName = "agent" });
        // The truth: nftables counters where the node's packets to and from the server leave and arrive.
        lab.Exec("node", "nft", "add chain inet egt out { type filter hook output priority 0 ; }");
        lab.Exec("node", "nft", "add chain inet egt in { type filter hook input priority 0 ; }");
        lab.Exec("node", "nft", "add", "counter", "inet", "egt", "short");
        lab.Exec("node", "nft", $"add rule inet egt out ip saddr {NodeIp} tcp dport 9600 counter name short");
        lab.Exec("node", "nft", $"add rule inet egt in ip daddr {NodeIp} tcp sport 9600 counter name short");

        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:03", new()
        {
            ["Egressd:Inventory:File"] = inventory,
            ["Egressd:Collector:CgroupRoot"] = cgroups.Root,
        });
        await using var _ = host;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var server = ServeAsync(lab, "c", 9600, upload: 2_000, download: 6_000, stop.Token);
        await host.WaitForMoreReadsAsync(1, Patience);

        // Each connection opens, sends, receives and closes within about 50 ms, ten at a time, so no
        // read sees most of them open: only the lookup at their new events can know them. Each lives a
        // little past its exchange, as a client's request does: a connection shorter than the new
        // event's latency (the event thread's wake-up; milliseconds on this loaded machine) is closed
        // before its lookup and goes to the node (the churn benchmark measures that share).
        using var http = new HttpClient();
        var metrics = new Uri(host.BaseAddress, "/metrics");
        var sockets = cgroups.Inside(agent, () => Enumerable.Range(0, 200).Select(_ =>
        {
            var socket = lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(NodeIp), 0));
            return socket;
        }).ToList());
        await Task.WhenAll(sockets.Chunk(20).Select(batch => Task.Run(async () =>
        {
            foreach (var socket in batch)
            {
                using var client = socket;
                await client.ConnectAsync(new IPEndPoint(IPAddress.Parse(NetnsLab.V4("c")), 9600), TestContext.Current.CancellationToken);
                await SendAsync(client, 2_000);
                Assert.Equal(6_000, await DrainAsync(client, 6_000));
                await Task.Delay(50, TestContext.Current.CancellationToken);
                client.Close();
            }
        }, TestContext.Current.CancellationToken)));

        await stop.CancelAsync();
        await server.WaitAsync(Patience, TestContext.Current.CancellationToken);
        var kernel = ulong.Parse(
            Regex.Match(lab.Exec("node", "nft", "list", "counter", "inet", "egt", "short"), @"bytes (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.True(kernel > 200UL * 8_000, $"the kernel counted {kernel}");

        (ulong Pod, ulong Other) published = default;
        Assert.True(await Eventually.TrueAsync(() =>
        {
            var lines = FlowLogFile.Read(flowLog, lab.Node).Where(l => l.SrcIp == NodeIp && l.DstIp == NetnsLab.V4("c")).ToList();
            published = (lines.Where(l => l.SrcPod == "agent-x7k2p").Aggregate(0UL, (s, l) => s + l.TxBytes + l.RxBytes),
                lines.Where(l => l.SrcPod != "agent-x7k2p").Aggregate(0UL, (s, l) => s + l.TxBytes + l.RxBytes));
            return published.Pod + published.Other == kernel;
        }, Patience), $"kernel {kernel}, published {published}\n" + await DiagnosticsAsync(host, flowLog, lab.Node));
        Assert.Equal((kernel, 0UL), published);
        var text = await http.GetStringAsync(metrics, TestContext.Current.CancellationToken);
        Assert.Matches("egressd_collector_host_network_new_connections_total\\{outcome=\"cgroup\"\\} 2[0-9][0-9]", text);
    }

    [Fact]
    public async Task Under_churn_beside_a_long_transfer_the_node_addresses_totals_equal_the_kernels()
    {
        using var lab = new NetnsLab();
        using var cgroups = new CgroupLab(lab.Id);
        var churner = cgroups.Create($"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{ProxyUid.Replace('-', '_')}.slice/cri-containerd-5e8a0b.scope");
        var agent = cgroups.Create($"kubepods/burstable/pod{AgentUid}/crio-9c1d2e.scope");
        var inventory = LabInventory.Write(
            lab,
            new { @namespace = "monitoring", name = "agent-x7k2p", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = AgentUid, workloadKind = "DaemonSet", workloadName = "agent" },
            new { @namespace = "ingress", name = "proxy-4cd9f", node = lab.Node, ips = new[] { NodeIp }, hostNetwork = true, uid = ProxyUid, workloadKind = "DaemonSet", workloadName = "proxy" });
        // The truth: nftables counters where the node's own packets leave and arrive (after conntrack,
        // which counts the same IP bytes), one per server port, both directions.
        lab.Exec("node", "nft", "add chain inet egt out { type filter hook output priority 0 ; }");
        lab.Exec("node", "nft", "add chain inet egt in { type filter hook input priority 0 ; }");
        foreach (var (name, port) in new[] { ("churn", 9500), ("long", 9501) })
        {
            lab.Exec("node", "nft", "add", "counter", "inet", "egt", name);
            lab.Exec("node", "nft", $"add rule inet egt out ip saddr {NodeIp} tcp dport {port} counter name {name}");
            lab.Exec("node", "nft", $"add rule inet egt in ip daddr {NodeIp} tcp sport {port} counter name {name}");
        }

        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:00.500", new()
        {
            ["Egressd:Inventory:File"] = inventory,
            ["Egressd:Collector:CgroupRoot"] = cgroups.Root,
        });
        await using var _ = host;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var churnServer = ServeAsync(lab, "c", 9500, upload: 1_000, download: 4_000, stop.Token);
        var longServer = ServeAsync(lab, "ext", 9501, upload: int.MaxValue, download: 0, stop.Token);

        Socket Bound()
        {
            var socket = lab.SocketIn("node", AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(IPAddress.Parse(NodeIp), 0));
            return socket;
        }

        // The long transfer, alive across every read of the churn.
        using var transfer = cgroups.Inside(agent, Bound);
        await transfer.ConnectAsync(new IPEndPoint(IPAddress.Parse(NetnsLab.V4("ext")), 9501), TestContext.Current.CancellationToken);
        var sending = Task.Run(async () =>
        {
            var chunk = new byte[16 * 1024];
            while (!stop.IsCancellationRequested)
            {
                await transfer.SendAsync(chunk);
                await Task.Delay(5, CancellationToken.None);
            }
        }, TestContext.Current.CancellationToken);

        // The churn: short connections from the proxy's cgroup (sockets made there in batches, since a
        // socket keeps its creator's cgroup), each opened and closed well inside one read interval, until
        // thousands have gone and several reads have passed during them.
        using var http = new HttpClient();
        var metrics = new Uri(host.BaseAddress, "/metrics");
        var readsAtStart = CollectorReads.In(await http.GetStringAsync(metrics, TestContext.Current.CancellationToken));
        var connections = 0;
        while (connections < 2_000 || CollectorReads.In(await http.GetStringAsync(metrics, TestContext.Current.CancellationToken)) < readsAtStart + 3)
        {
            foreach (var socket in cgroups.Inside(churner, () => Enumerable.Range(0, 100).Select(_ => Bound()).ToList()))
            {
                using var client = socket;
                await client.ConnectAsync(new IPEndPoint(IPAddress.Parse(NetnsLab.V4("c")), 9500), TestContext.Current.CancellationToken);
                await SendAsync(client, 1_000);
                Assert.Equal(4_000, await DrainAsync(client, 4_000));
                client.Close();
                connections++;
            }
        }

        await stop.CancelAsync();
        await sending.ContinueWith(_ => { }, TaskScheduler.Default);
        transfer.Shutdown(SocketShutdown.Both);
        transfer.Close();
        await Task.WhenAll(churnServer, longServer).WaitAsync(Patience, TestContext.Current.CancellationToken);

        ulong Counter(string name) => ulong.Parse(
            Regex.Match(lab.Exec("node", "nft", "list", "counter", "inet", "egt", name), @"bytes (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
        var kernel = (Churn: Counter("churn"), Long: Counter("long"));
        Assert.True(kernel.Churn > 2_000UL * 5_000 && kernel.Long > 0, $"the kernel counted {kernel}");

        (ulong Churn, ulong Long, ulong LongToAgent) published = default;
        List<FlowLogEntry> lines = [];
        var matched = await Eventually.TrueAsync(() =>
        {
            lines = [.. FlowLogFile.Read(flowLog, lab.Node).Where(l => l.SrcIp == NodeIp)];
            ulong Sum(IEnumerable<FlowLogEntry> of) => of.Aggregate(0UL, (s, l) => s + l.TxBytes + l.RxBytes);
            published = (Sum(lines.Where(l => l.DstIp == NetnsLab.V4("c"))), Sum(lines.Where(l => l.DstIp == NetnsLab.V4("ext"))), Sum(lines.Where(l => l.DstIp == NetnsLab.V4("ext") && l.SrcPod == "agent-x7k2p")));
            return published.Churn == kernel.Churn && published.Long == kernel.Long;
        }, Patience);
        Assert.True(matched, $"kernel {kernel}, published {published} after {connections} connections\n" + await DiagnosticsAsync(host, flowLog, lab.Node));

        // The long transfer lives through reads: all of it is the agent's. The churn is its pod's or the node's, never another pod's.
        Assert.Equal(kernel.Long, published.LongToAgent);
        Assert.All(lines.Where(l => l.DstIp == NetnsLab.V4("c")), l => Assert.True(l.SrcPod is null or "proxy-4cd9f", $"went to {l.SrcPod}"));
    }

    /// <summary>
    /// A server in <paramref name="server"/>: per connection, takes <paramref name="upload"/> bytes, answers
    /// <paramref name="download"/>, then waits for the client to close first (the client keeps the TIME_WAIT).
    /// </summary>
    private static Task ServeAsync(NetnsLab lab, string server, int port, int upload, int download, CancellationToken stop)
    {
        var listener = lab.SocketIn(server, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Any, port));
        listener.Listen(1024);
        return Task.Run(async () =>
        {
            using var owned = listener;
            var served = new List<Task>();
            try
            {
                while (true)
                {
                    var accepted = await listener.AcceptAsync(stop);
                    served.Add(Task.Run(async () =>
                    {
                        using var socket = accepted;
                        await DrainAsync(socket, upload);
                        await SendAsync(socket, download);
                        await DrainAsync(socket, int.MaxValue);
                    }, CancellationToken.None));
                }
            }
            catch (OperationCanceledException)
            {
                // Stopped: every client has closed by now, so every connection's server ends.
            }

            await Task.WhenAll(served);
        }, CancellationToken.None);
    }

    /// <summary>What a failure message needs: the collector's host-network metrics and every flow-log line's ends.</summary>
    private static async Task<string> DiagnosticsAsync(InProcessHost host, string flowLog, string node)
    {
        var metrics = await new HttpClient().GetStringAsync(new Uri(host.BaseAddress, "/metrics"));
        return string.Join('\n', metrics.Split('\n').Where(l => l.Contains("host_network", StringComparison.Ordinal) || l.Contains("read_failures", StringComparison.Ordinal)))
            + "\nlines: " + string.Join("; ", FlowLogFile.Read(flowLog, node).Select(l => $"{l.SrcIp}/{l.SrcPod}->{l.DstIp}"));
    }

    private readonly record struct Key(string? Pod, string? Unit, string Destination, string? OriginalDestination, int Protocol);

    private static Dictionary<Key, (ulong Tx, ulong Rx)> Totals(string flowLog, string node)
    {
        var totals = new Dictionary<Key, (ulong Tx, ulong Rx)>();
        foreach (var line in FlowLogFile.Read(flowLog, node).Where(l => l.SrcIp == NodeIp))
        {
            var key = new Key(line.SrcPod, line.SrcWorkloadKind == "SystemdUnit" ? line.SrcWorkloadName : null, line.DstIp, line.OriginalDstIp, line.Protocol);
            var t = totals.GetValueOrDefault(key);
            totals[key] = (t.Tx + line.TxBytes, t.Rx + line.RxBytes);
        }

        return totals;
    }

    /// <summary>
    /// <paramref name="client"/> (bound already) connects, sends half its upload, waits for a read of
    /// the collector when <paramref name="host"/> is given (so the connection lives across reads), sends
    /// the rest, receives the download, and both close. Returns the client's port.
    /// </summary>
    private static async Task<int> TcpAsync(NetnsLab lab, Socket client, string server, IPAddress target, int port, int serverPort, int upload, int download, InProcessHost? host)
    {
        using var socket = client;
        using var listener = lab.SocketIn(server, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Any, serverPort));
        listener.Listen();
        var serving = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptAsync();
            await DrainAsync(accepted, upload);
            await SendAsync(accepted, download);
            accepted.Shutdown(SocketShutdown.Send);
            await DrainAsync(accepted, int.MaxValue);
        });

        await socket.ConnectAsync(new IPEndPoint(target, port));
        await SendAsync(socket, upload / 2);
        if (host is not null)
        {
            await host.WaitForMoreReadsAsync(1, Patience);
        }

        await SendAsync(socket, upload - (upload / 2));
        var received = await DrainAsync(socket, download);
        socket.Shutdown(SocketShutdown.Both);
        var localPort = ((IPEndPoint)socket.LocalEndPoint!).Port;
        socket.Close();
        await serving.WaitAsync(Patience);
        Assert.Equal(download, received);
        return localPort;
    }

    /// <summary>A pod on another node connects to <paramref name="listener"/> (bound on the node's address); returns the pod's port.</summary>
    private static async Task<int> InboundAsync(NetnsLab lab, Socket listener, string from, int upload, int download)
    {
        listener.Listen();
        var serving = Task.Run(async () =>
        {
            using var accepted = await listener.AcceptAsync();
            await DrainAsync(accepted, upload);
            await SendAsync(accepted, download);
            accepted.Shutdown(SocketShutdown.Send);
            await DrainAsync(accepted, int.MaxValue);
        });

        using var socket = lab.SocketIn(from, AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync((IPEndPoint)listener.LocalEndPoint!);
        await SendAsync(socket, upload);
        Assert.Equal(download, await DrainAsync(socket, download));
        socket.Shutdown(SocketShutdown.Both);
        var port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        socket.Close();
        await serving.WaitAsync(Patience);
        return port;
    }

    /// <summary>
    /// Request/response datagrams from <paramref name="client"/> (bound), connected or by sendto; the
    /// socket stays open for two more reads of the collector (a UDP socket leaves nothing behind once
    /// closed, unlike TCP's TIME_WAIT). Returns its port.
    /// </summary>
    private static async Task<int> UdpAsync(NetnsLab lab, Socket client, string server, IPAddress target, int port, bool connect, int datagrams, int size, int replySize, InProcessHost host)
    {
        using var socket = client;
        using var responder = lab.SocketIn(server, AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        responder.Bind(new IPEndPoint(IPAddress.Any, port));
        var serving = Task.Run(async () =>
        {
            var buffer = new byte[65536];
            for (var i = 0; i < datagrams; i++)
            {
                var result = await responder.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0));
                await responder.SendToAsync(new byte[replySize], result.RemoteEndPoint);
            }
        });

        var to = new IPEndPoint(target, port);
        if (connect)
        {
            await socket.ConnectAsync(to);
        }

        var answer = new byte[65536];
        for (var i = 0; i < datagrams; i++)
        {
            if (connect)
            {
                await socket.SendAsync(new byte[size]);
            }
            else
            {
                await socket.SendToAsync(new byte[size], to);
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ReceiveAsync(answer, timeout.Token);
        }

        await serving.WaitAsync(Patience);
        await host.WaitForMoreReadsAsync(2, Patience);
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static async Task SendAsync(Socket socket, int count)
    {
        var chunk = new byte[Math.Max(1, Math.Min(count, 64 * 1024))];
        for (var left = count; left > 0;)
        {
            left -= await socket.SendAsync(chunk.AsMemory(0, Math.Min(left, chunk.Length)));
        }
    }

    private static async Task<int> DrainAsync(Socket socket, int upTo)
    {
        var buffer = new byte[64 * 1024];
        var total = 0;
        while (total < upTo)
        {
            var n = await socket.ReceiveAsync(buffer);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
