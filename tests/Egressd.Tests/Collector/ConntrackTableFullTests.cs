using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Collector;

/// <summary>
/// Runs alone: the kernel's conntrack limit is one setting for every network namespace, so while
/// this test lowers it no other test may need more entries than it allows.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConntrackLimitCollection
{
    public const string Name = "conntrack-limit";
}

/// <summary>A full conntrack table: the kernel drops new connections; what it does track, the collector reports exactly.</summary>
[Collection(ConntrackLimitCollection.Name)]
public sealed class ConntrackTableFullTests
{
    private const string MaxSetting = "net.netfilter.nf_conntrack_max";
    private const int Limit = 64;

    [Fact]
    [Trait("Category", "Slow")]
    public async Task With_the_table_full_the_collector_keeps_reporting_what_the_kernel_tracks()
    {
        var ct = TestContext.Current.CancellationToken;
        using var lab = new NetnsLab();
        var (host, flowLog) = await NetfilterCollectorTests.StartCollectorAsync(lab, "00:00:00.250");
        await using var _ = host;

        var live = await LiveConnection.OpenAsync(lab, 9500);
        var original = File.ReadAllText($"/proc/sys/{MaxSetting.Replace('.', '/')}").Trim();
        int tracked;
        try
        {
            File.WriteAllText($"/proc/sys/{MaxSetting.Replace('.', '/')}", Limit.ToString(CultureInfo.InvariantCulture));

            // Fill the node's table with UDP flows past the limit: the kernel refuses the rest.
            using var udp = lab.SocketIn("b", AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            var target = IPAddress.Parse(NetnsLab.V4("c"));
            for (var p = 20000; p < 20000 + (3 * Limit); p++)
            {
                await udp.SendToAsync(new byte[64], new IPEndPoint(target, p), ct);
            }

            tracked = int.Parse(lab.Exec("node", "cat", "/proc/sys/net/netfilter/nf_conntrack_count").Trim(), CultureInfo.InvariantCulture);
            Assert.True(tracked >= Limit - 1, $"the table holds {tracked} entries, expected it full at {Limit}");

            // The connection the kernel already tracks goes on; so does the collector.
            await live.TrafficAsync(TimeSpan.FromSeconds(1.5));
        }
        finally
        {
            File.WriteAllText($"/proc/sys/{MaxSetting.Replace('.', '/')}", original);
        }

        await live.DisposeAsync();

        var counted = await NetfilterCollectorTests.AssertLiveConnectionPublishedAsync(lab, flowLog, live);

        // It read the full table, and no read failed.
        var metrics = await new HttpClient().GetStringAsync(new Uri(host.BaseAddress, "/metrics"), ct);
        Assert.DoesNotMatch(@"egressd_collector_read_failures_total [1-9]", metrics);
        TestContext.Current.TestOutputHelper?.WriteLine($"table full at {tracked} entries (limit {Limit}); published = kernel {counted}");
    }
}
