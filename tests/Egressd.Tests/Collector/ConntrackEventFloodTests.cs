using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.Collector;

/// <summary>
/// A mass flush: every entry of a big table ends at once, and the kernel sends a destroy event for
/// each, whether or not the collector gets the CPU to read them. Connections moving bytes are among
/// them; their last deltas exist only in their events. The collector is paused (SIGSTOP) through
/// the flush, as a starved process is, so every event must wait in the socket's buffer.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class ConntrackEventFloodTests(RabbitMqBroker broker)
{
    /// <summary>Idle entries loaded beside the live connections: the flush's bulk, 77 MB of events, more than four 16 MiB buffers.</summary>
    private const int Loaded = 60_000;

    private const int Connections = 12;
    private const int FirstPort = 9440;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Flushing_a_table_of_sixty_thousand_entries_while_traffic_runs_and_the_collector_is_paused_loses_no_destroy_event_and_no_byte()
    {
        using var lab = new NetnsLab();
        var lastPort = FirstPort + Connections - 1;
        lab.AddCounter("floodup", $"ip saddr {NetnsLab.V4("a")} ip daddr {NetnsLab.V4("c")} tcp dport {FirstPort}-{lastPort}");
        lab.AddCounter("flooddown", $"ip saddr {NetnsLab.V4("c")} ip daddr {NetnsLab.V4("a")} tcp sport {FirstPort}-{lastPort}");
        await using var probe = await CollectedBatches.StartAsync(broker, lab.Node);
        var settings = new Dictionary<string, string?>(await broker.BusSettingsAsync())
        {
            ["Egressd:Collector:Source"] = "netfilter",
            ["Egressd:Collector:Netns"] = lab.NodePath,
            ["Egressd:Collector:NodeName"] = lab.Node,
            ["Egressd:Collector:ReadInterval"] = "00:00:00.500",
            ["Egressd:Collector:StateDirectory"] = Path.Combine(Path.GetTempPath(), $"egressd-state-{lab.Id}"),
            ["Egressd:ClusterContext:Source"] = "Inventory",
            ["Egressd:Inventory:File"] = LabInventory.Write(lab),
        };
        // The default buffer: the collector sizes it from the namespace's table.
        await using var collector = ServiceProcess.Start("collector", Repo.ServiceDll("collector", "Egressd.Collector"), settings);
        await collector.WaitUntilAsync("/readyz", HttpStatusCode.OK, Patience);
        await collector.WaitForMoreReadsAsync(1, Patience);

        var live = new List<LiveConnection>();
        try
        {
            for (var i = 0; i < Connections; i++)
            {
                live.Add(await LiveConnection.OpenAsync(lab, FirstPort + i));
            }

            LoadIdleEntries(lab);
            await Task.WhenAll(live.Select(c => c.TrafficAsync(TimeSpan.FromSeconds(1))));
            await collector.WaitForMoreReadsAsync(1, Patience);

            // Flushed while the connections move bytes (they go on in entries the kernel picks up
            // mid-stream) and while the collector reads nothing.
            var traffic = Task.WhenAll(live.Select(c => c.TrafficAsync(TimeSpan.FromSeconds(2))));
            collector.Pause();
            var flush = Stopwatch.StartNew();
            try
            {
                lab.Exec("node", "conntrack", "-F");
                flush.Stop();
            }
            finally
            {
                collector.Resume();
            }

            await traffic;
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"flushed {Loaded + Connections:N0} entries in {flush.Elapsed.TotalMilliseconds:F0} ms with the collector paused (conntrack -F, process start included): "
                + $"{(Loaded + Connections) / flush.Elapsed.TotalSeconds:N0} destroy events/s or more");
        }
        finally
        {
            foreach (var connection in live)
            {
                await connection.DisposeAsync();
            }
        }

        var up = lab.ReadCounter("floodup");
        var down = lab.ReadCounter("flooddown");
        var expected = (up.Bytes, down.Bytes, up.Packets, down.Packets);
        Assert.True(up.Bytes > 1_000_000, $"the nftables counters saw little: {expected}");
        var key = (NetnsLab.V4("a"), NetnsLab.V4("c"), 6);
        var published = default((ulong, ulong, ulong, ulong));
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            published = (await probe.TotalsAsync()).GetValueOrDefault(key);
            return published == expected;
        }, Patience), $"published {published}, kernel {expected}\n"
            + string.Join('\n', (await collector.GetStringAsync("/metrics")).Split('\n').Where(l => l.StartsWith("egressd_conntrack", StringComparison.Ordinal)))
            + "\n" + collector.Tail());

        var metrics = await collector.GetStringAsync("/metrics");
        Assert.Matches(@"(?m)^egressd_conntrack_event_overflows_total 0$", metrics);
        var events = Value(metrics, "egressd_conntrack_destroy_events_total");
        Assert.True(events >= Loaded + Connections, $"heard {events} destroy events of the {Loaded + Connections} flushed");
        TestContext.Current.TestOutputHelper?.WriteLine($"published = kernel {expected}; {events:N0} destroy events heard, no overflow; "
            + collector.Output.FirstOrDefault(l => l.Contains("\"EventId\":2204", StringComparison.Ordinal)));
    }

    /// <summary>Idle TCP entries between addresses no pod has, loaded with conntrack -R as a busy node's table holds them.</summary>
    private static void LoadIdleEntries(NetnsLab lab)
    {
        var file = Path.Combine(Path.GetTempPath(), $"egressd-flood-{lab.Id}.txt");
        var lines = new StringBuilder();
        for (var i = 0; i < Loaded; i++)
        {
            lines.Append(CultureInfo.InvariantCulture,
                $"-I -s 10.250.{i / 250}.{(i % 250) + 1} -d 198.18.0.1 -p tcp --sport {1024 + (i % 60_000)} --dport 443 --state ESTABLISHED -t 3600 -u ASSURED\n");
        }

        File.WriteAllText(file, lines.ToString());
        try
        {
            lab.Exec("node", "conntrack", "-R", file);
        }
        finally
        {
            File.Delete(file);
        }

        var count = int.Parse(lab.Exec("node", "cat", "/proc/sys/net/netfilter/nf_conntrack_count").Trim(), CultureInfo.InvariantCulture);
        Assert.True(count >= Loaded, $"the table holds {count} entries after loading {Loaded}");
    }

    private static double Value(string metrics, string name)
    {
        var line = metrics.Split('\n').First(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
