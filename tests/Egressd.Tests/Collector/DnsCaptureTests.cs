using System.Net;
using System.Net.Sockets;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Collector;

/// <summary>
/// DNS names from real answers: dnsmasq in the lab's "ext" host answers pod a over UDP and TCP,
/// IPv4 and IPv6, with a CNAME chain; the collector captures the answers in the node's namespace,
/// pod a connects to the addresses, and the flow log names each destination by the name a asked for.
/// </summary>
public sealed class DnsCaptureTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(45);

    // Addresses ext answers for, beside its own.
    private const string ApiV4 = "198.18.7.20";
    private const string ApiV6 = "2001:db8:7::20";
    private const string OriginV4 = "198.18.7.21";
    private const string OriginV6 = "2001:db8:7::21";
    private const string TcpV4 = "198.18.7.22";
    private const string ShortV4 = "198.18.7.23";

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Flows_to_answered_addresses_carry_the_name_asked_for_over_udp_and_tcp_through_cname_chains()
    {
        using var lab = NewLab();
        using var dns = StartDns(lab);
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:00.250");
        await using var _ = host;

        // Garbage from port 53 first: the capture loop counts it and goes on.
        await SendGarbageFromPort53Async(lab, count: 500);

        Assert.Equal([ApiV4], dns.Resolve("a", "api.egressd.test", "A"));
        Assert.Equal([ApiV6], dns.Resolve("a", "api.egressd.test", "AAAA", v6Server: true));
        Assert.Equal(["edge.egressd.test.", "origin.egressd.test.", OriginV4], dns.Resolve("a", "www.egressd.test", "A"));
        Assert.Equal(["edge.egressd.test.", "origin.egressd.test.", OriginV6], dns.Resolve("a", "www.egressd.test", "AAAA", tcp: true));
        Assert.Equal([TcpV4], dns.Resolve("a", "Tcp.Egressd.Test", "A", tcp: true));

        var expected = new Dictionary<string, string>
        {
            [ApiV4] = "api.egressd.test",
            [ApiV6] = "api.egressd.test",
            [OriginV4] = "www.egressd.test",
            [OriginV6] = "www.egressd.test",
            [TcpV4] = "tcp.egressd.test",
        };
        var port = 9300;
        foreach (var address in expected.Keys)
        {
            await Traffic.TcpExchangeAsync(lab, "a", "ext", IPAddress.Parse(address), port, port, upload: 2_000, download: 3_000);
            port++;
        }

        // Plus one address nobody asked about: no name.
        await Traffic.TcpExchangeAsync(lab, "a", "ext", IPAddress.Parse(NetnsLab.V4("ext")), port, port, upload: 1_000, download: 1_000);

        IReadOnlyList<FlowLogEntry> lines = [];
        var named = await Eventually.TrueAsync(() =>
        {
            lines = FlowLogFile.Read(flowLog, lab.Node);
            return expected.All(e => lines.Any(l => l.SrcIp == NetnsLab.V4("a") || l.SrcIp == NetnsLab.V6("a") ? l.DstIp == e.Key && l.Protocol == 6 : false))
                && lines.Any(l => l.DstIp == NetnsLab.V4("ext") && l.Protocol == 6);
        }, Patience);
        Assert.True(named, "flows missing; flow log:\n" + string.Join('\n', lines.Select(l => $"{l.SrcIp} → {l.DstIp} ({l.Protocol}) {l.DstDnsName}")));
        foreach (var (address, name) in expected)
        {
            Assert.All(lines.Where(l => l.DstIp == address && l.Protocol == 6), l => Assert.Equal(name, l.DstDnsName));
            Assert.All(lines.Where(l => l.DstIp == address && l.Protocol == 6), l => Assert.Equal("internet", l.TrafficClass.ToString().ToLowerInvariant()));
        }

        Assert.All(lines.Where(l => l.DstIp == NetnsLab.V4("ext") && l.Protocol == 6), l => Assert.Null(l.DstDnsName));

        var metrics = await new HttpClient().GetStringAsync(new Uri(host.BaseAddress, "/metrics"), TestContext.Current.CancellationToken);
        Assert.Matches("egressd_dns_responses_total\\{transport=\"tcp\"\\} [1-9]", metrics);
        Assert.Matches("egressd_dns_responses_total\\{transport=\"udp\"\\} [1-9]", metrics);
        Assert.Matches("egressd_dns_parse_failures_total\\{reason=\"[a-z_]+\"\\} [1-9]", metrics);
        Assert.Matches("egressd_dns_answers_recorded_total [1-9]", metrics);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task A_two_second_ttl_expires_and_a_refreshed_answer_names_the_address_again()
    {
        using var lab = NewLab();
        using var dns = StartDns(lab);
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:00.250", new()
        {
            ["Egressd:Collector:Dns:MinTtl"] = "00:00:00",
        });
        await using var _ = host;

        // Resolved, then used at once: named.
        var asked = DateTimeOffset.UtcNow;
        Assert.Equal([ShortV4], dns.Resolve("a", "short.egressd.test", "A"));
        var expires = DateTimeOffset.UtcNow.AddSeconds(2);
        await Traffic.TcpExchangeAsync(lab, "a", "ext", IPAddress.Parse(ShortV4), 9400, 9400, upload: 1_000, download: 1_000);
        Assert.True(await Eventually.TrueAsync(() => Lines(flowLog, lab, ShortV4).Any(l => l.DstDnsName == "short.egressd.test"), Patience),
            Describe(flowLog, lab));

        // Used again once the answer has run out (and a whole read later): not named.
        Assert.True(await Eventually.TrueAsync(() => DateTimeOffset.UtcNow > expires.AddSeconds(1), Patience));
        var afterExpiry = DateTimeOffset.UtcNow;
        await Traffic.TcpExchangeAsync(lab, "a", "ext", IPAddress.Parse(ShortV4), 9401, 9401, upload: 1_000, download: 1_000);
        Assert.True(await Eventually.TrueAsync(() => Lines(flowLog, lab, ShortV4).Any(l => l.WindowStart >= afterExpiry.AddMilliseconds(-300) && l.WindowEnd >= afterExpiry), Patience),
            Describe(flowLog, lab));
        Assert.All(Lines(flowLog, lab, ShortV4).Where(l => l.WindowStart > expires), l => Assert.Null(l.DstDnsName));

        // Asked again: the refreshed answer names it for another two seconds.
        Assert.Equal([ShortV4], dns.Resolve("a", "short.egressd.test", "A"));
        var refreshed = DateTimeOffset.UtcNow;
        await Traffic.TcpExchangeAsync(lab, "a", "ext", IPAddress.Parse(ShortV4), 9402, 9402, upload: 1_000, download: 1_000);
        Assert.True(await Eventually.TrueAsync(() => Lines(flowLog, lab, ShortV4).Any(l => l.WindowEnd >= refreshed && l.DstDnsName == "short.egressd.test"), Patience),
            Describe(flowLog, lab));
        Assert.True(asked < refreshed);
    }

    [Fact]
    public async Task Without_CAP_NET_RAW_the_collector_runs_on_without_names_and_says_so_once()
    {
        using var lab = NewLab();
        await using var collector = ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), new Dictionary<string, string?>
        {
            ["Egressd:Collector:Source"] = "netfilter",
            ["Egressd:Collector:Netns"] = lab.NodePath,
            ["Egressd:Collector:ReadInterval"] = "00:00:00.200",
            ["Egressd:Bus:Transport"] = "inmemory",
        }, launcher: ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--"]);

        Assert.True(await Eventually.TrueAsync(() => collector.Output.Any(l => l.Contains("\"EventId\":2502", StringComparison.Ordinal)), Patience),
            "no line about DNS capture\n" + collector.Tail());
        // It goes on reading conntrack: windows keep being published, and the line stays alone. The
        // traffic starts after a first read, so its entry carries the start time the collector turned on.
        await collector.WaitForMoreReadsAsync(1, Patience);
        await Traffic.TcpExchangeAsync(lab, "a", "ext", IPAddress.Parse(NetnsLab.V4("ext")), 9500, 9500, upload: 1_000, download: 1_000);
        Assert.True(await Eventually.TrueAsync(async () =>
            System.Text.RegularExpressions.Regex.IsMatch(await MetricsAsync(collector), "egressd_collector_windows_published_total [1-9]"), Patience),
            collector.Tail());
        Assert.False(collector.HasExited);
        var line = Assert.Single(collector.Output, l => l.Contains("\"EventId\":2502", StringComparison.Ordinal));
        Assert.Contains("CAP_NET_RAW", line, StringComparison.Ordinal);
        Assert.DoesNotContain(collector.Output, l => l.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal));
        Assert.Contains("egressd_dns_capture_up 0", await MetricsAsync(collector), StringComparison.Ordinal);
    }

    private static NetnsLab NewLab()
    {
        var lab = new NetnsLab();
        foreach (var address in new[] { ApiV4, OriginV4, TcpV4, ShortV4 })
        {
            lab.Exec("ext", "ip", "addr", "add", address + "/24", "dev", "eth0");
        }

        foreach (var address in new[] { ApiV6, OriginV6 })
        {
            lab.Exec("ext", "ip", "addr", "add", address + "/64", "dev", "eth0", "nodad");
        }

        return lab;
    }

    private static DnsServer StartDns(NetnsLab lab) => DnsServer.Start(lab, "ext",
        $"--host-record=api.egressd.test,{ApiV4},{ApiV6},300",
        $"--host-record=origin.egressd.test,{OriginV4},{OriginV6}",
        "--cname=www.egressd.test,edge.egressd.test,120",
        "--cname=edge.egressd.test,origin.egressd.test",
        $"--host-record=tcp.egressd.test,{TcpV4}",
        $"--host-record=short.egressd.test,{ShortV4},2");

    // The capture socket is bound before the host's start returns (DnsCapture opens it
    // synchronously), so nothing answered after that is missed: no wait for the capture thread.

    private static async Task<string> MetricsAsync(ServiceProcess process)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{process.Port}/metrics"));
    }

    private static async Task SendGarbageFromPort53Async(NetnsLab lab, int count)
    {
        using var sender = lab.SocketIn("c", AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sender.Bind(new IPEndPoint(IPAddress.Parse(NetnsLab.V4("c")), 53));
        var random = new Random(53);
        var target = new IPEndPoint(IPAddress.Parse(NetnsLab.V4("a")), 9999);
        for (var i = 0; i < count; i++)
        {
            var datagram = new byte[random.Next(1, 600)];
            random.NextBytes(datagram);
            // Half of them look like responses, so they get past the header into the records.
            if (i % 2 == 0 && datagram.Length > 12)
            {
                datagram[2] = 0x81;
                datagram[3] = 0x80;
            }

            await sender.SendToAsync(datagram, target);
        }
    }

    private static IEnumerable<FlowLogEntry> Lines(string flowLog, NetnsLab lab, string destination) =>
        FlowLogFile.Read(flowLog, lab.Node).Where(l => l.DstIp == destination && l.Protocol == 6);

    private static string Describe(string flowLog, NetnsLab lab) =>
        "flow log:\n" + string.Join('\n', FlowLogFile.Read(flowLog, lab.Node).Select(l => $"{l.WindowStart:HH:mm:ss.fff}-{l.WindowEnd:HH:mm:ss.fff} {l.SrcIp} → {l.DstIp} ({l.Protocol}) {l.DstDnsName}"));
}
