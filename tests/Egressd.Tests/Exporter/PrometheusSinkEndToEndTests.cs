using System.Globalization;
using Egressd.Exporter.Sinks;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Exporter.Sinks.Prometheus.RemoteWrite;
using Egressd.Shared.Network;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;
using MassTransit;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>The exporter on the in-memory bus, scraped by (and pushing to) a real Prometheus, queried with PromQL.</summary>
public sealed class PrometheusSinkEndToEndTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Prometheus_scrapes_true_counters_that_PromQL_sums_and_rates_by_namespace()
    {
        await using var exporter = await InMemoryExporter.StartAsync();
        await using var prometheus = await PrometheusServer.StartAsync([exporter.BaseAddress.Authority]);
        await prometheus.WaitForTargetsUpAsync(1, Patience);
        var bus = exporter.Services.GetRequiredService<IBus>();
        var boot = Guid.NewGuid().ToString("N");

        // Deltas that go up and down: written as samples of a counter (egressd's delta mode) every
        // drop would read as a reset. Shop has two pods sending what billing's one sends, each window.
        const int Windows = 48;
        var published = new List<(DateTimeOffset At, double Billing)>();
        double billing = 0;
        for (var window = 1; window <= Windows; window++)
        {
            ulong delta = 1000 + (300 * (ulong)(window % 4));
            await bus.PublishAsync(Batch("node-a", boot, window,
                PodFlow("shop", "web-1", "db", "db-0", txBytes: delta, sourceIp: "10.244.1.10"),
                PodFlow("shop", "web-2", "db", "db-0", txBytes: delta, sourceIp: "10.244.1.11"),
                PodFlow("billing", "api-1", "db", "db-0", txBytes: delta, sourceIp: "10.244.1.12")));
            billing += delta;
            published.Add((DateTimeOffset.UtcNow, billing));
            await Task.Delay(250, Ct);
        }

        Dictionary<string, double> totals = [];
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            totals = await prometheus.QueryByAsync("sum by (src_namespace) (egressd_transmit_bytes_total)", "src_namespace");
            return totals.GetValueOrDefault("billing") == billing && totals.GetValueOrDefault("shop") == 2 * billing;
        }, Patience), $"Prometheus never summed the published bytes ({billing} billing, {2 * billing} shop): {string.Join(", ", totals)}\n{prometheus.Tail()}");
        Assert.Equal(2, totals.Count);

        // True counters: not one reset over the whole run.
        var resets = await prometheus.QueryAsync("sum(resets(egressd_transmit_bytes_total[5m]))");
        Assert.Equal(0, Assert.Single(resets).Value);

        // rate() sees both namespaces over the same scrapes: exactly twice as much from shop.
        var at = published[^8].At;
        var rates = await prometheus.QueryByAsync("sum by (src_namespace) (rate(egressd_transmit_bytes_total[8s]))", "src_namespace", at);
        Assert.Equal(2.0, rates["shop"] / rates["billing"], 6);
        // And about what was published in that window (scrapes every second at each edge: tolerance).
        var inWindow = published.Where(p => p.At <= at).Last().Billing - published.Where(p => p.At <= at - TimeSpan.FromSeconds(8)).Select(p => p.Billing).DefaultIfEmpty(0).Last();
        var expected = inWindow / 8;
        Assert.InRange(rates["billing"], expected * 0.65, expected * 1.35);

        // The sink's own metrics reach Prometheus too (counted after the batch's counters: poll).
        Assert.True(await Eventually.TrueAsync(
            async () => (await prometheus.QueryAsync("egressd_exporter_batches_applied_total{sink=\"prometheus\"}")).SingleOrDefault()?.Value >= Windows, Patience),
            "Prometheus never scraped the applied-batch count");

        var (code, said) = Exposition.Promtool(await exporter.ScrapeAsync());
        Assert.True(code == 0, "promtool check metrics: " + said);
    }

    [Fact]
    public async Task The_same_batch_delivered_twice_is_counted_once()
    {
        await using var exporter = await InMemoryExporter.StartAsync();
        var bus = exporter.Services.GetRequiredService<IBus>();
        var store = exporter.Services.GetRequiredService<FlowSeriesStore>();
        var boot = Guid.NewGuid().ToString("N");
        var first = Batch("node-a", boot, 1, PodFlow("dup", "web-1", "db", "db-0", txBytes: 1000, rxBytes: 10));
        var second = Batch("node-a", boot, 2, PodFlow("dup", "web-1", "db", "db-0", txBytes: 1, rxBytes: 1));
        var duplicates = exporter.Services.GetRequiredService<SinkMetrics>().Duplicates.WithLabels(PrometheusSink.Name);

        await bus.PublishAsync(first);
        await bus.PublishAsync(first);
        await bus.PublishAsync(second);
        // A copy made anew from the same window (a collector retry after a lost confirm) is the same batch too.
        await bus.PublishAsync(first with { Header = first.Header with { WindowEnd = DateTimeOffset.UtcNow } });

        var labels = FlowLabels.PodLevel.Select(l => FlowLabels.All[l].ValueOf(EnrichedRows.Rows(first)[0], new FlowLabelContext(new NetworkOptions().PublicAddresses()))).ToList();
        // All four handled: two applied (1000 + 1 bytes), two dropped.
        Assert.True(await Eventually.TrueAsync(() => duplicates.Value == 2 && store.Find(labels)?[0] == 1001, Patience),
            $"the copies were never seen as duplicates ({duplicates.Value}), or the bytes are {store.Find(labels)?[0]}");
        Assert.Equal([1001UL, 11UL, 2UL, 2UL], store.Find(labels)!);
        var text = await exporter.ScrapeAsync();
        Assert.Equal(1001, Exposition.Value(text, "egressd_transmit_bytes_total", "src_namespace", "dup"));
    }

    [Fact]
    public async Task The_series_cap_holds_under_a_flood_and_the_scrape_counts_what_it_refused()
    {
        await using var exporter = await InMemoryExporter.StartAsync(("Egressd:Exporter:Prometheus:MaxSeries", "100"));
        var bus = exporter.Services.GetRequiredService<IBus>();
        var boot = Guid.NewGuid().ToString("N");
        var refused = exporter.Services.GetRequiredService<PrometheusSinkMetrics>().SeriesRefused;

        // A port scan, say: every flow to another address.
        for (var window = 1; window <= 4; window++)
        {
            await bus.PublishAsync(Batch("node-a", boot, window, [.. Enumerable.Range(0, 2500)
                .Select(i => PodFlow("flood", "scanner-1", "", "", txBytes: 1, destinationIp: $"198.18.{window}.{i % 250}", sourceIp: $"10.244.{i / 250}.1"))]));
        }

        Assert.True(await Eventually.TrueAsync(() => refused.Value == 9900, Patience),
            $"refused {refused.Value} of the 9,900 flows over the cap");
        var text = await exporter.ScrapeAsync();
        Assert.Equal(100, Exposition.Samples(text, "egressd_transmit_bytes_total").Count);
        Assert.Equal(100, Exposition.Samples(text, "egressd_received_packets_total").Count);
        Assert.Equal(100, exporter.Services.GetRequiredService<FlowSeriesStore>().Count);
        Assert.Equal(9900, Exposition.Value(text, "egressd_exporter_series_refused_total"));
    }

    [Fact]
    public async Task Remote_write_into_Prometheus_carries_the_same_counters_as_the_scrape()
    {
        await using var prometheus = await PrometheusServer.StartAsync([], remoteWriteReceiver: true);
        await using var exporter = await InMemoryExporter.StartAsync(
            ("Egressd:Exporter:RemoteWrite:Enabled", "true"),
            ("Egressd:Exporter:RemoteWrite:Url", prometheus.RemoteWriteUrl.ToString()),
            ("Egressd:Exporter:RemoteWrite:Interval", "00:00:01"),
            ("Egressd:Exporter:RemoteWrite:SendReceivedBytes", "true"),
            ("Egressd:Exporter:RemoteWrite:StaticLabels:cluster", "e2e"),
            ("Egressd:Exporter:Prometheus:StaticLabels:team", "net"));
        var bus = exporter.Services.GetRequiredService<IBus>();
        var boot = Guid.NewGuid().ToString("N");
        for (var window = 1; window <= 5; window++)
        {
            await bus.PublishAsync(Batch("node-a", boot, window,
                PodFlow("shop", "web-1", "db", "db-0", txBytes: 100 * (ulong)window, rxBytes: 7, txPackets: 2, rxPackets: 3),
                PodFlow("shop", "web-1", "db", "db-0", txBytes: 5, protocol: 17),
                BareFlow("10.244.1.10", "198.18.7.9", 33 * (ulong)window)));
        }

        // Every window applied: 100 + 200 + ... + 500, 5 x 5 and 33 + ... + 165.
        var scraped = "";
        Assert.True(await Eventually.TrueAsync(async () => Exposition.Value(scraped = await exporter.ScrapeAsync(), "egressd_transmit_bytes_total") == 1500 + 25 + 495, Patience),
            "the batches were never all applied\n" + scraped);
        foreach (var (metric, _, _) in FlowMetrics.Families)
        {
            var expected = Exposition.Samples(scraped, metric);
            Assert.Equal(3, expected.Count);
            IReadOnlyList<PromSample> pushed = [];
            var matched = await Eventually.TrueAsync(async () =>
            {
                pushed = await prometheus.QueryAsync($"{metric}{{cluster=\"e2e\"}}");
                return pushed.Count == expected.Count && expected.All(e => pushed.Any(p => Same(e, p, metric)));
            }, Patience);
            Assert.True(matched, $"{metric}: Prometheus has\n{string.Join('\n', pushed.Select(Show))}\nthe scrape has\n{string.Join('\n', expected.Select(Show))}\n{prometheus.Tail()}");
        }

        // Counted once the receiver's answer is in, which may be after the query above saw the data.
        var pushes = exporter.Services.GetRequiredService<RemoteWriteMetrics>().Pushes;
        Assert.True(await Eventually.TrueAsync(() => pushes.Value > 0, Patience));
    }

    [Fact]
    public async Task An_exporter_restart_starts_counters_from_zero_and_rate_handles_it()
    {
        var port = FreePort.Next();
        await using var prometheus = await PrometheusServer.StartAsync([$"127.0.0.1:{port}"]);
        var flow = PodFlow("restart", "web-1", "db", "db-0", txBytes: 0);
        const string Series = "egressd_transmit_bytes_total{src_namespace=\"restart\"}";

        async Task FeedAsync(InProcessHost host, string boot, params ulong[] deltas)
        {
            var bus = host.Services.GetRequiredService<IBus>();
            double total = 0;
            for (var i = 0; i < deltas.Length; i++)
            {
                await bus.PublishAsync(Batch("node-a", boot, i + 1, flow with { Flow = flow.Flow with { TxBytes = deltas[i] } }));
                // Each step scraped before the next, so Prometheus sees the counter climb.
                total += deltas[i];
                await SeenAsync(total);
            }
        }

        async Task SeenAsync(double value)
        {
            double seen = -1;
            Assert.True(await Eventually.TrueAsync(async () => (seen = (await prometheus.QueryAsync(Series)).SingleOrDefault()?.Value ?? -1) == value, Patience),
                $"Prometheus never saw {value} (last {seen})\n{prometheus.Tail()}");
        }

        await using (var first = await InMemoryExporter.StartAsync(("Egressd:Http:Port", port.ToString(CultureInfo.InvariantCulture))))
        {
            await prometheus.WaitForTargetsUpAsync(1, Patience);
            await FeedAsync(first, "boot-1", 5000, 5000, 5000, 5000);
            await SeenAsync(20000);
        }

        await using var second = await InMemoryExporter.StartAsync(("Egressd:Http:Port", port.ToString(CultureInfo.InvariantCulture)));
        await FeedAsync(second, "boot-2", 1000, 1000);
        await SeenAsync(2000);
        Assert.Equal(2000, Exposition.Value(await second.ScrapeAsync(), "egressd_transmit_bytes_total", "src_namespace", "restart"));

        Assert.Equal(1, Assert.Single(await prometheus.QueryAsync($"resets({Series}[5m])")).Value);
        // increase() adds what came after the reset to what came before it (from its first scrape
        // of the series, at 15000 at the latest), never a negative jump.
        var increase = Assert.Single(await prometheus.QueryAsync($"increase({Series}[5m])")).Value;
        Assert.True(increase >= 2000 + 5000, $"increase over the restart: {increase}");
    }

    [Fact]
    public async Task Idle_series_disappear_after_their_idle_time_while_busy_ones_stay()
    {
        await using var exporter = await InMemoryExporter.StartAsync(("Egressd:Exporter:Prometheus:IdleTimeout", "00:00:03"));
        await using var prometheus = await PrometheusServer.StartAsync([exporter.BaseAddress.Authority]);
        await prometheus.WaitForTargetsUpAsync(1, Patience);
        var bus = exporter.Services.GetRequiredService<IBus>();
        var boot = Guid.NewGuid().ToString("N");
        var expired = exporter.Services.GetRequiredService<PrometheusSinkMetrics>().SeriesExpired;

        await bus.PublishAsync(Batch("node-a", boot, 1,
            PodFlow("idle", "quiet-1", "db", "db-0", txBytes: 10, sourceIp: "10.244.1.20"),
            PodFlow("idle", "busy-1", "db", "db-0", txBytes: 10, sourceIp: "10.244.1.21")));
        var quietSince = DateTimeOffset.UtcNow;
        Assert.True(await Eventually.TrueAsync(async () => (await prometheus.QueryAsync("egressd_transmit_bytes_total{src_pod=\"quiet-1\"}")).Count == 1, Patience),
            "Prometheus never scraped the quiet series");

        var window = 2L;
        var gone = await Eventually.TrueAsync(async () =>
        {
            await bus.PublishAsync(Batch("node-a", boot, window++, PodFlow("idle", "busy-1", "db", "db-0", txBytes: 10, sourceIp: "10.244.1.21")));
            var text = await exporter.ScrapeAsync();
            return !text.Contains("quiet-1", StringComparison.Ordinal) && text.Contains("busy-1", StringComparison.Ordinal);
        }, Patience, TimeSpan.FromMilliseconds(300));
        Assert.True(gone, "the quiet series never left the scrape");
        Assert.True(DateTimeOffset.UtcNow - quietSince >= TimeSpan.FromSeconds(3), "the quiet series left before its idle time");
        // The quiet one at least; the busy one too if the machine stalled past its idle time.
        Assert.True(expired.Value >= 1);

        // Gone from the scrape, Prometheus marks it stale: no longer in an instant query.
        Assert.True(await Eventually.TrueAsync(async () =>
        {
            await bus.PublishAsync(Batch("node-a", boot, window++, PodFlow("idle", "busy-1", "db", "db-0", txBytes: 10, sourceIp: "10.244.1.21")));
            var pods = (await prometheus.QueryAsync("egressd_transmit_bytes_total{src_namespace=\"idle\"}")).Select(s => s.Labels["src_pod"]).ToList();
            return pods is ["busy-1"];
        }, Patience, TimeSpan.FromMilliseconds(300)), "Prometheus kept the quiet series");
    }

    private static bool Same(PromSample scraped, PromSample pushed, string metric) =>
        pushed.Value == scraped.Value
        && pushed.Labels.GetValueOrDefault("__name__") == metric
        && pushed.Labels.GetValueOrDefault("cluster") == "e2e"
        // Prometheus drops empty labels from a scrape; remote write leaves them out.
        && scraped.Labels.Where(l => l.Value != "").All(l => pushed.Labels.GetValueOrDefault(l.Key) == l.Value)
        && pushed.Labels.Count == scraped.Labels.Count(l => l.Value != "") + 2;

    private static string Show(PromSample sample) =>
        "{" + string.Join(",", sample.Labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}=\"{l.Value}\"")) + "} " + sample.Value;
}
