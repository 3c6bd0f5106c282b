using System.Net;
using Egressd.Local;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Collector;

/// <summary>
/// The collector reading a real kernel's conntrack: network namespaces as pods and a node, real
/// TCP and UDP traffic, and the kernel's own counters (conntrack -L) as the truth.
/// </summary>
public sealed class NetfilterCollectorTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    [Fact]
    public async Task Published_flows_carry_endpoints_service_address_and_the_kernels_counters()
    {
        using var lab = new NetnsLab();
        var (host, flowLog) = await StartCollectorAsync(lab, "00:00:00.250");
        await using var _ = host;

        var a = IPAddress.Parse(NetnsLab.V4("a"));
        var tcpViaService = await Traffic.TcpExchangeAsync(lab, "a", "c", IPAddress.Parse(NetnsLab.ServiceV4), 80, 8080, upload: 100_000, download: 300_000);
        var tcpViaServiceV6 = await Traffic.TcpExchangeAsync(lab, "a", "c", IPAddress.Parse(NetnsLab.ServiceV6), 80, 8080, upload: 50_000, download: 20_000);
        var udpDirect = await Traffic.UdpExchangeAsync(lab, "b", "c", IPAddress.Parse(NetnsLab.V4("c")), 9000, 9000, datagrams: 10, size: 500, replySize: 1200);
        var tcpLocal = await Traffic.TcpExchangeAsync(lab, "a", "b", IPAddress.Parse(NetnsLab.V4("b")), 7000, 7000, upload: 10_000, download: 5_000);
        var udpPublicV6 = await Traffic.UdpExchangeAsync(lab, "a", "ext", IPAddress.Parse(NetnsLab.V6("ext")), 9001, 9001, datagrams: 5, size: 300, replySize: 100);

        var k1 = lab.KernelCounters("-p", "tcp", "--orig-src", a.ToString(), "--sport", tcpViaService.ToString());
        var k2 = lab.KernelCounters("-f", "ipv6", "-p", "tcp", "--orig-src", NetnsLab.V6("a"), "--sport", tcpViaServiceV6.ToString());
        var k3 = lab.KernelCounters("-p", "udp", "--orig-src", NetnsLab.V4("b"), "--sport", udpDirect.ToString());
        var k4 = lab.KernelCounters("-p", "tcp", "--orig-src", a.ToString(), "--sport", tcpLocal.ToString());
        var k5 = lab.KernelCounters("-f", "ipv6", "-p", "udp", "--orig-src", NetnsLab.V6("a"), "--sport", udpPublicV6.ToString());
        Assert.True(k1.OrigBytes > 100_000 && k1.ReplyBytes > 300_000, $"the kernel did not count the transfer: {k1}");

        var expected = new Dictionary<FlowKey, (ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)>
        {
            [new(NetnsLab.V4("a"), NetnsLab.V4("c"), NetnsLab.ServiceV4, 6)] = (k1.OrigBytes, k1.ReplyBytes, k1.OrigPackets, k1.ReplyPackets),
            [new(NetnsLab.V6("a"), NetnsLab.V6("c"), NetnsLab.ServiceV6, 6)] = (k2.OrigBytes, k2.ReplyBytes, k2.OrigPackets, k2.ReplyPackets),
            [new(NetnsLab.V4("b"), NetnsLab.V4("c"), null, 17)] = (k3.OrigBytes, k3.ReplyBytes, k3.OrigPackets, k3.ReplyPackets),
            // Both ends are pods of this node: reported from each side.
            [new(NetnsLab.V4("a"), NetnsLab.V4("b"), null, 6)] = (k4.OrigBytes, k4.ReplyBytes, k4.OrigPackets, k4.ReplyPackets),
            [new(NetnsLab.V4("b"), NetnsLab.V4("a"), null, 6)] = (k4.ReplyBytes, k4.OrigBytes, k4.ReplyPackets, k4.OrigPackets),
            [new(NetnsLab.V6("a"), NetnsLab.V6("ext"), null, 17)] = (k5.OrigBytes, k5.ReplyBytes, k5.OrigPackets, k5.ReplyPackets),
        };

        Dictionary<FlowKey, (ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)> totals = [];
        var matched = await Eventually.TrueAsync(() =>
        {
            totals = Totals(flowLog, lab.Node);
            return expected.All(e => totals.TryGetValue(e.Key, out var t) && t == e.Value);
        }, Patience);
        Assert.True(matched, Describe(expected, totals));

        // c is a pod of another node: its side of the traffic is that node's collector's to report.
        Assert.DoesNotContain(totals.Keys, k => k.Source == NetnsLab.V4("c") || k.Source == NetnsLab.V6("c"));
        // More reads change nothing: every delta was counted once.
        await host.WaitForMoreReadsAsync(3, Patience);
        totals = Totals(flowLog, lab.Node);
        Assert.All(expected, e => Assert.Equal(e.Value, totals[e.Key]));
    }

    [Fact]
    public async Task Connection_that_opens_transfers_and_closes_between_two_reads_is_counted_once()
    {
        using var lab = new NetnsLab();
        var (host, flowLog) = await StartCollectorAsync(lab, "00:00:02");
        await using var _ = host;
        // After a read the destroy-event subscription is open: what follows happens between two reads.
        await host.WaitForMoreReadsAsync(1, Patience);

        var udp = await Traffic.UdpExchangeAsync(lab, "a", "c", IPAddress.Parse(NetnsLab.V4("c")), 9100, 9100, datagrams: 3, size: 700, replySize: 900);
        var tcp = await Traffic.TcpExchangeAsync(lab, "b", "c", IPAddress.Parse(NetnsLab.V4("c")), 9200, 9200, upload: 4_000, download: 6_000);
        // Remove both from the table at once: only their destroy events can tell what they carried.
        var udpFinal = lab.DeleteEntries("-p", "udp", "--orig-src", NetnsLab.V4("a"), "--sport", udp.ToString());
        var tcpFinal = lab.DeleteEntries("-p", "tcp", "--orig-src", NetnsLab.V4("b"), "--sport", tcp.ToString());
        Assert.True(udpFinal.OrigBytes > 2_100 && tcpFinal.ReplyBytes > 6_000, $"conntrack -D returned {udpFinal} and {tcpFinal}");

        var udpKey = new FlowKey(NetnsLab.V4("a"), NetnsLab.V4("c"), null, 17);
        var tcpKey = new FlowKey(NetnsLab.V4("b"), NetnsLab.V4("c"), null, 6);
        var expectedUdp = (udpFinal.OrigBytes, udpFinal.ReplyBytes, udpFinal.OrigPackets, udpFinal.ReplyPackets);
        var expectedTcp = (tcpFinal.OrigBytes, tcpFinal.ReplyBytes, tcpFinal.OrigPackets, tcpFinal.ReplyPackets);
        Dictionary<FlowKey, (ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)> totals = [];
        Assert.True(await Eventually.TrueAsync(() =>
        {
            totals = Totals(flowLog, lab.Node);
            return totals.GetValueOrDefault(udpKey) == expectedUdp && totals.GetValueOrDefault(tcpKey) == expectedTcp;
        }, Patience), $"udp {totals.GetValueOrDefault(udpKey)} != {expectedUdp}; tcp {totals.GetValueOrDefault(tcpKey)} != {expectedTcp}");

        // Two more reads: still exactly once.
        await host.WaitForMoreReadsAsync(2, Patience);
        totals = Totals(flowLog, lab.Node);
        Assert.Equal(expectedUdp, totals[udpKey]);
        Assert.Equal(expectedTcp, totals[tcpKey]);
        var metrics = await new HttpClient().GetStringAsync(new Uri(host.BaseAddress, "/metrics"), TestContext.Current.CancellationToken);
        Assert.Matches(@"egressd_conntrack_destroy_events_total [1-9]", metrics);
    }

    internal static async Task<(InProcessHost Host, string FlowLog)> StartCollectorAsync(NetnsLab lab, string readInterval, Dictionary<string, string?>? more = null)
    {
        var flowLog = Path.Combine(Path.GetTempPath(), $"egressd-{lab.Id}.jsonl");
        var state = Path.Combine(Path.GetTempPath(), $"egressd-state-{lab.Id}");
        var settings = new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "inmemory",
            ["Egressd:Collector:Source"] = "netfilter",
            ["Egressd:Collector:Netns"] = lab.NodePath,
            ["Egressd:Collector:NodeName"] = lab.Node,
            ["Egressd:Collector:ReadInterval"] = readInterval,
            ["Egressd:ClusterContext:Source"] = "Inventory",
            ["Egressd:Inventory:File"] = LabInventory.Write(lab),
            ["Egressd:Exporter:FlowLog:Path"] = flowLog,
            ["Egressd:Collector:StateDirectory"] = state,
        };
        foreach (var (key, value) in more ?? [])
        {
            settings[key] = value;
        }

        var host = await InProcessHost.StartAsync("egressd", b => b.AddAllInOne(), settings);
        // The worker starts in the background, and a connection already open at its first read is
        // taken as a baseline (no checkpoint yet): the first read writes the checkpoint, so wait for it.
        var checkpoint = Path.Combine(settings["Egressd:Collector:StateDirectory"]!, "conntrack.checkpoint");
        if (!await Eventually.TrueAsync(() => File.Exists(checkpoint), TimeSpan.FromSeconds(30)))
        {
            await host.DisposeAsync();
            throw new TimeoutException($"the collector never completed its first read ({checkpoint} not written)");
        }

        return (host, flowLog);
    }

    /// <summary>
    /// Waits until the flow log holds exactly what the kernel counted for the live connection from a
    /// to c (closed by now, so its counters are final), and returns those counters.
    /// </summary>
    internal static async Task<(ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)> AssertLiveConnectionPublishedAsync(NetnsLab lab, string flowLog, LiveConnection live)
    {
        var kernel = lab.KernelCounters("-p", "tcp", "--orig-src", NetnsLab.V4("a"), "--sport", live.LocalPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(kernel.OrigBytes > 500_000, $"kernel counted {kernel}");
        var key = new FlowKey(NetnsLab.V4("a"), NetnsLab.V4("c"), null, 6);
        var expected = (kernel.OrigBytes, kernel.ReplyBytes, kernel.OrigPackets, kernel.ReplyPackets);
        var published = default((ulong, ulong, ulong, ulong));
        Assert.True(await Eventually.TrueAsync(() =>
        {
            published = Totals(flowLog, lab.Node).GetValueOrDefault(key);
            return published == expected;
        }, TimeSpan.FromSeconds(90)), $"published {published}, kernel {expected}");
        return expected;
    }

    internal static Dictionary<FlowKey, (ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)> Totals(string flowLog, string node)
    {
        var totals = new Dictionary<FlowKey, (ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)>();
        foreach (var line in FlowLogFile.Read(flowLog, node))
        {
            var f = line.Flow;
            var key = new FlowKey(f.SourceIp.ToString(), f.DestinationIp.ToString(), f.OriginalDestinationIp?.ToString(), f.Protocol);
            var t = totals.GetValueOrDefault(key);
            totals[key] = (t.Tx + f.TxBytes, t.Rx + f.RxBytes, t.TxPackets + f.TxPackets, t.RxPackets + f.RxPackets);
        }

        return totals;
    }

    private static string Describe(
        Dictionary<FlowKey, (ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)> expected,
        Dictionary<FlowKey, (ulong Tx, ulong Rx, ulong TxPackets, ulong RxPackets)> actual) =>
        string.Join('\n', expected.Select(e => $"{e.Key}: kernel {e.Value}, published {(actual.TryGetValue(e.Key, out var a) ? a.ToString() : "nothing")}"))
        + "\nall published: " + string.Join("; ", actual.Select(a => $"{a.Key}={a.Value}"));

    internal readonly record struct FlowKey(string Source, string Destination, string? OriginalDestination, int Protocol);
}
