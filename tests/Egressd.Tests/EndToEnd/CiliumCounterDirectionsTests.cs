using System.Runtime.Versioning;
using System.Text.Json.Nodes;
using Egressd.Collector.Cilium;
using Egressd.Exporter.Sinks.Http.Protobuf;
using Egressd.Exporter.Sinks.Prometheus.RemoteWrite;
using Egressd.Local;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.EndToEnd;

/// <summary>
/// Cilium's maps, made for real in a private bpf filesystem, read by the whole path in one process
/// (collector, enricher and exporter on the in-memory bus) and out through every sink: combined
/// counters (Cilium 1.16+) say so in each sink's output; separate ones look as they always did.
/// </summary>
[SupportedOSPlatform("linux")]
public sealed class CiliumCounterDirectionsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(CiliumCounterLayout.Combined)]
    [InlineData(CiliumCounterLayout.Split)]
    public async Task Every_sink_marks_combined_counters_and_only_those(CiliumCounterLayout layout)
    {
        var combined = layout == CiliumCounterLayout.Combined;
        var ct = TestContext.Current.CancellationToken;
        using var maps = new CiliumMaps();
        var clock = new CiliumClock(CiliumClockSource.Ktime);
        var fd = maps.Create("cilium_ct4_global", ipv6: false);

        var node = "cilium-" + Guid.NewGuid().ToString("N")[..8];
        var dir = Directory.CreateTempSubdirectory("egressd-cilium-e2e-").FullName;
        var flowLog = Path.Combine(dir, "flows.jsonl");
        await File.WriteAllTextAsync(Path.Combine(dir, "inventory.json"), $$"""
            {
              "nodes": [
                { "name": "{{node}}", "zone": "zone-a", "region": "region-1", "internalIps": ["10.0.0.254"] },
                { "name": "node-b", "zone": "zone-b", "region": "region-1", "internalIps": ["10.1.0.254"] }
              ],
              "pods": [
                { "namespace": "shop", "name": "web-1", "node": "{{node}}", "ips": ["10.0.0.1"] },
                { "namespace": "shop", "name": "db-0", "node": "node-b", "ips": ["10.1.0.5"] },
                { "namespace": "shop", "name": "client-9", "node": "node-b", "ips": ["10.1.0.9"] }
              ]
            }
            """, ct);

        await using var receiver = await WebhookReceiver.StartAsync();
        await using var prometheus = await PrometheusServer.StartAsync([], remoteWriteReceiver: true);
        var settings = new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "inmemory",
            ["Egressd:ClusterContext:Source"] = "Inventory",
            ["Egressd:Inventory:File"] = Path.Combine(dir, "inventory.json"),
            ["Egressd:Collector:NodeName"] = node,
            ["Egressd:Collector:Source"] = "cilium",
            ["Egressd:Collector:BpfRoot"] = maps.Root,
            ["Egressd:Collector:CiliumClock"] = "Ktime",
            ["Egressd:Collector:StateDirectory"] = Path.Combine(dir, "state"),
            ["Egressd:Collector:ReadInterval"] = "00:00:00.200",
            ["Egressd:Exporter:FlowLog:Path"] = flowLog,
            ["Egressd:Exporter:RemoteWrite:Enabled"] = "true",
            ["Egressd:Exporter:RemoteWrite:Url"] = prometheus.RemoteWriteUrl.ToString(),
            ["Egressd:Exporter:RemoteWrite:Interval"] = "01:00:00",
            ["Egressd:Exporter:Prometheus:StaticLabels:run"] = node,
        };
        foreach (var (name, encoding) in new[] { ("pb", "protobuf"), ("js", "json") })
        {
            var prefix = $"Egressd:Exporter:Sinks:{name}:http:";
            settings[prefix + "url"] = receiver.BaseAddress + name;
            settings[prefix + "encoding"] = encoding;
            settings[prefix + "interval"] = "0";
        }

        await using var host = await InProcessHost.StartAsync("egressd", b => b.AddAllInOne(), settings);

        // Connections open before the collector's first read are taken as a baseline (no restart
        // checkpoint yet); its first checkpoint says that read is done.
        Assert.True(await Eventually.TrueAsync(() => File.Exists(Path.Combine(dir, "state", "cilium.checkpoint")), Patience), "the collector never read");
        // web-1 (10.0.0.1, this node) opens a connection to db-0 (10.1.0.5); client-9 (10.1.0.9)
        // opens one to web-1. Each side's tx and rx, which Cilium 1.16+ keep as one sum.
        Put(fd, CiliumMaps.Key("10.0.0.1", 40000, "10.1.0.5", 5432, 6, CiliumMaps.Out), layout, clock, txPackets: 10, txBytes: 1000, rxPackets: 8, rxBytes: 5000);
        Put(fd, CiliumMaps.Key("10.1.0.9", 5555, "10.0.0.1", 8080, 6, CiliumMaps.In), layout, clock, txPackets: 3, txBytes: 3000, rxPackets: 4, rxBytes: 400);

        // The flow log: one line per flow, marked when the counters are combined.
        IReadOnlyList<JsonObject> lines = [];
        Assert.True(await Eventually.TrueAsync(() => (lines = Lines(flowLog)).Count >= 2, Patience), "the flows never reached the flow log");
        Assert.All(lines, l => Assert.Equal(combined ? "combined" : null, (string?)l["counter_directions"]));
        var web = lines.Where(l => (string?)l["src_pod"] == "web-1").ToDictionary(l => (string)l["dst_pod"]!);
        Assert.Equal(combined ? (6000UL, 0UL) : (1000UL, 5000UL), ((ulong)web["db-0"]["tx_bytes"]!, (ulong)web["db-0"]["rx_bytes"]!));
        Assert.Equal(combined ? (0UL, 3400UL) : (3000UL, 400UL), ((ulong)web["client-9"]["tx_bytes"]!, (ulong)web["client-9"]["rx_bytes"]!));

        // The HTTP sink, egressd's protobuf with our extension field, and JSON with the flow log's keys.
        Assert.True(await Eventually.TrueAsync(() => Bodies(receiver, "/pb").Any() && Bodies(receiver, "/js").Any(), Patience), "the webhooks got nothing");
        var metrics = Bodies(receiver, "/pb").SelectMany(b => PodNetworkMetricBatch.Parser.ParseFrom(b).Items).ToList();
        Assert.Contains(metrics, m => m.SrcPod == "web-1" && m.DstPod == "db-0");
        Assert.All(metrics, m => Assert.Equal(combined, m.CombinedCounters));
        // A receiver built on egressd's own schema still reads the same figures (it skips the new field).
        var egressd = Bodies(receiver, "/pb").SelectMany(b => Exporter.EgressdPb.PodNetworkMetricBatch.Parser.ParseFrom(b).Items).ToList();
        Assert.Equal(metrics.Sum(m => m.TxBytes + m.RxBytes), egressd.Sum(m => m.TxBytes + m.RxBytes));
        var json = Bodies(receiver, "/js").SelectMany(b => JsonNode.Parse(b)!["flows"]!.AsArray()).ToList();
        Assert.All(json, f => Assert.Equal(combined ? "combined" : null, (string?)f!["counter_directions"]));

        // Prometheus: combined totals in families of their own, never in the directional ones.
        var scraped = await host.ScrapeAsync();
        var combinedBytes = Exposition.Samples(scraped, "egressd_combined_bytes_total");
        var transmitBytes = Exposition.Samples(scraped, "egressd_transmit_bytes_total");
        if (combined)
        {
            Assert.Empty(transmitBytes);
            Assert.Empty(Exposition.Samples(scraped, "egressd_received_bytes_total"));
            Assert.Equal(6000 + 3400, combinedBytes.Where(s => s.Labels["src_ip"] == "10.0.0.1").Sum(s => s.Value));
            Assert.Equal(10 + 8 + 3 + 4, Exposition.Samples(scraped, "egressd_combined_packets_total").Where(s => s.Labels["src_ip"] == "10.0.0.1").Sum(s => s.Value));
        }
        else
        {
            Assert.DoesNotContain("egressd_combined_", scraped, StringComparison.Ordinal);
            Assert.Equal(1000 + 3000, transmitBytes.Where(s => s.Labels["src_ip"] == "10.0.0.1").Sum(s => s.Value));
        }

        Assert.Equal(0, Exposition.Promtool(scraped).Code);

        // Remote write sends what a scrape shows.
        Assert.True(await host.Services.GetRequiredService<RemoteWritePusher>().PushAsync(ct));
        var family = combined ? "egressd_combined_bytes_total" : "egressd_transmit_bytes_total";
        IReadOnlyList<PromSample> pushed = [];
        Assert.True(await Eventually.TrueAsync(async () => (pushed = await prometheus.QueryAsync($"{family}{{run=\"{node}\",src_ip=\"10.0.0.1\"}}")).Count > 0, Patience),
            "the remote write never arrived\n" + prometheus.Tail());
        Assert.Equal(combined ? 9400 : 4000, pushed.Sum(s => s.Value));
        if (combined)
        {
            Assert.Empty(await prometheus.QueryAsync($"egressd_transmit_bytes_total{{run=\"{node}\"}}"));
        }
        else
        {
            Assert.Empty(await prometheus.QueryAsync($"egressd_combined_bytes_total{{run=\"{node}\"}}"));
        }
    }

    private static void Put(int fd, byte[] key, CiliumCounterLayout layout, CiliumClock clock, ulong txPackets, ulong txBytes, ulong rxPackets, ulong rxBytes)
    {
        var lifetime = clock.LifetimeIn(3600, CiliumClockSource.Ktime);
        BpfSyscall.Update(fd, key, layout == CiliumCounterLayout.Split
            ? CiliumMaps.SplitValue(rxPackets, rxBytes, txPackets, txBytes, lifetime)
            : CiliumMaps.CombinedValue(rxPackets + txPackets, rxBytes + txBytes, lifetime));
    }

    private static List<JsonObject> Lines(string path) => !File.Exists(path)
        ? []
        : [.. File.ReadAllLines(path).Where(l => l.Length > 0).Select(l => JsonNode.Parse(l)!.AsObject())];

    private static IEnumerable<byte[]> Bodies(WebhookReceiver receiver, string path) =>
        receiver.Requests.Where(r => r.PathAndQuery == path).Select(r => r.Body);
}
