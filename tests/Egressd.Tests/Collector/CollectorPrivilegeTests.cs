using System.Net;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Collector;

/// <summary>What an operator sees when the collector lacks what it needs: one line that says so.</summary>
public sealed class CollectorPrivilegeTests
{
    private static readonly string[] WithoutNetAdmin = ["setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", "--"];

    [Fact]
    public async Task Without_CAP_NET_ADMIN_the_collector_stops_with_one_line_saying_so()
    {
        using var lab = new NetnsLab();
        await using var collector = ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), new Dictionary<string, string?>
        {
            ["Egressd:Collector:Source"] = "netfilter",
            ["Egressd:Collector:Netns"] = lab.NodePath,
            ["Egressd:Collector:ReadInterval"] = "00:00:00.200",
        }, launcher: WithoutNetAdmin);

        Assert.Equal(1, await collector.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var critical = collector.Output.Where(l => l.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal)).ToList();
        var line = Assert.Single(critical);
        Assert.Contains("CAP_NET_ADMIN", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dump_without_CAP_NET_ADMIN_says_so_in_one_line()
    {
        using var lab = new NetnsLab();
        await using var dump = ServiceProcess.Start("dump", Repo.ServiceDll("collector", "Egressd.Collector"), new Dictionary<string, string?>(),
            launcher: WithoutNetAdmin, args: ["dump", "--netns", lab.NodePath]);
        Assert.Equal(1, await dump.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var line = Assert.Single(dump.Output);
        Assert.StartsWith("stderr: egressd-collector: reading conntrack was refused", line, StringComparison.Ordinal);
        Assert.Contains("CAP_NET_ADMIN", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_accounting_the_collector_warns_in_one_line_that_counters_read_zero()
    {
        using var lab = new NetnsLab(accounting: false);
        await Traffic.TcpExchangeAsync(lab, "a", "c", IPAddress.Parse(NetnsLab.V4("c")), 8080, 8080, upload: 1_000, download: 1_000);
        await using var collector = ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), new Dictionary<string, string?>
        {
            ["Egressd:Collector:Source"] = "netfilter",
            ["Egressd:Collector:Netns"] = lab.NodePath,
            ["Egressd:Collector:ReadInterval"] = "00:00:00.200",
            ["Egressd:Collector:EnableAccounting"] = "false",
        });

        Assert.True(await Eventually.TrueAsync(() => collector.Output.Any(l => l.Contains("\"EventId\":2301", StringComparison.Ordinal)), TimeSpan.FromSeconds(60)),
            "no warning about accounting\n" + collector.Tail());
        // Warned once, not at every read.
        await collector.WaitForMoreReadsAsync(3, TimeSpan.FromSeconds(60));
        var warnings = collector.Output.Where(l => l.Contains("\"EventId\":2301", StringComparison.Ordinal)).ToList();
        var warning = Assert.Single(warnings);
        Assert.Contains("nf_conntrack_acct", warning, StringComparison.Ordinal);
        Assert.Contains("\"EventId\":2106", string.Join('\n', collector.Output), StringComparison.Ordinal);
        Assert.False(collector.HasExited);
    }

    [Fact]
    public async Task Collector_turns_accounting_on_when_it_may()
    {
        using var lab = new NetnsLab(accounting: false);
        Assert.Equal("0", lab.Exec("node", "sysctl", "-n", "net.netfilter.nf_conntrack_acct").Trim());
        await using var collector = ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), new Dictionary<string, string?>
        {
            ["Egressd:Collector:Source"] = "netfilter",
            ["Egressd:Collector:Netns"] = lab.NodePath,
        });

        Assert.True(await Eventually.TrueAsync(() => collector.Output.Any(l => l.Contains("\"EventId\":2104", StringComparison.Ordinal)), TimeSpan.FromSeconds(60)),
            collector.Tail());
        Assert.Equal("1", lab.Exec("node", "sysctl", "-n", "net.netfilter.nf_conntrack_acct").Trim());
        // The host's own setting is not touched: only the namespace the collector reads.
    }
}
