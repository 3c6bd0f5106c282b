using System.Text.Json.Nodes;
using Egressd.Contracts;
using Egressd.Local;
using Egressd.Shared.Bus;
using Egressd.Tests.Infrastructure;
using MassTransit;

namespace Egressd.Tests.Chart;

/// <summary>
/// Every PromQL query of the chart's Grafana dashboard returns data from a real Prometheus that
/// scraped egressd (collector, enricher and exporter in one process, with the exporter's label
/// settings as the chart renders them): a renamed metric or label empties a panel and fails here.
/// </summary>
public sealed class DashboardQueriesTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Every_dashboard_query_returns_data()
    {
        var dashboard = JsonNode.Parse(await File.ReadAllTextAsync(Repo.Path("helm", "egressd", "dashboards", "egressd.json"), TestContext.Current.CancellationToken))!;
        var queries = Queries(dashboard).ToList();
        Assert.True(queries.Count >= 15, $"the dashboard has only {queries.Count} queries");

        // The label settings the chart gives the exporter, so the panels see the labels users get.
        var exporterEnv = ChartManifestTests.Env(HelmChart.Template(), "egressd-exporter");
        var settings = new Dictionary<string, string?>
        {
            ["Egressd:Bus:Transport"] = "inmemory",
            ["Egressd:Collector:NodeName"] = "node-a",
            ["Egressd:Collector:Source"] = "replay",
            ["Egressd:Collector:ReplayLoop"] = "true",
            ["Egressd:Collector:ReadInterval"] = "00:00:00.500",
            ["Egressd:Exporter:FlowLog:Enabled"] = "false",
            ["Egressd:ClusterContext:Source"] = "Inventory",
        };
        foreach (var (name, value) in exporterEnv.Where(e => e.Key.StartsWith("Egressd__Exporter__Prometheus__", StringComparison.Ordinal)))
        {
            settings[name.Replace("__", ":", StringComparison.Ordinal)] = value;
        }

        Assert.Contains("traffic_class", settings["Egressd:Exporter:Prometheus:AddLabels"], StringComparison.Ordinal);
        var dir = Directory.CreateTempSubdirectory("egressd-dashboard-").FullName;
        settings["Egressd:Collector:ReplayFile"] = Path.Combine(dir, "flows.jsonl");
        settings["Egressd:Inventory:File"] = Path.Combine(dir, "inventory.json");
        await File.WriteAllTextAsync(settings["Egressd:Collector:ReplayFile"]!, """
            {"ip":"198.18.7.9","name":"api.example.com","ttl_s":3600}
            {"proto":6,"src":"10.244.1.10","dst":"10.244.1.12","tx_bytes":1000,"rx_bytes":2000,"tx_packets":10,"rx_packets":12}
            {"proto":6,"src":"10.244.1.10","dst":"10.244.4.40","tx_bytes":1100,"rx_bytes":2100,"tx_packets":11,"rx_packets":13}
            {"proto":6,"src":"10.244.1.10","dst":"10.244.2.20","orig_dst":"10.96.0.15","tx_bytes":5000,"rx_bytes":90000,"tx_packets":50,"rx_packets":80}
            {"proto":6,"src":"10.244.1.11","dst":"10.244.3.30","tx_bytes":7000,"rx_bytes":700,"tx_packets":70,"rx_packets":7}
            {"proto":6,"src":"10.244.1.11","dst":"198.18.7.9","tx_bytes":3000,"rx_bytes":30000,"tx_packets":30,"rx_packets":40}
            """.Replace("    ", "", StringComparison.Ordinal), TestContext.Current.CancellationToken);
        await File.WriteAllTextAsync(settings["Egressd:Inventory:File"]!, """
            {
              "nodes": [
                { "name": "node-a", "providerId": "aws:///zone-a/i-a", "zone": "zone-a", "region": "region-1", "internalIps": ["10.0.0.1"] },
                { "name": "node-b", "providerId": "aws:///zone-b/i-b", "zone": "zone-b", "region": "region-1", "internalIps": ["10.0.0.2"] },
                { "name": "node-c", "providerId": "aws:///zone-c/i-c", "zone": "zone-c", "region": "region-2", "internalIps": ["10.0.0.3"] },
                { "name": "node-d", "providerId": "aws:///zone-a/i-d", "zone": "zone-a", "region": "region-1", "internalIps": ["10.0.0.4"] }
              ],
              "pods": [
                { "namespace": "shop", "name": "web-1", "node": "node-a", "ips": ["10.244.1.10"], "workloadKind": "Deployment", "workloadName": "web" },
                { "namespace": "shop", "name": "web-2", "node": "node-a", "ips": ["10.244.1.12"], "workloadKind": "Deployment", "workloadName": "web" },
                { "namespace": "billing", "name": "api-1", "node": "node-a", "ips": ["10.244.1.11"], "workloadKind": "Deployment", "workloadName": "api" },
                { "namespace": "shop", "name": "db-0", "node": "node-b", "ips": ["10.244.2.20"], "workloadKind": "StatefulSet", "workloadName": "db" },
                { "namespace": "analytics", "name": "etl-0", "node": "node-c", "ips": ["10.244.3.30"], "workloadKind": "StatefulSet", "workloadName": "etl" },
                { "namespace": "shop", "name": "cache-0", "node": "node-d", "ips": ["10.244.4.40"], "workloadKind": "StatefulSet", "workloadName": "cache" }
              ],
              "services": [{ "namespace": "shop", "name": "db", "clusterIps": ["10.96.0.15"] }]
            }
            """, TestContext.Current.CancellationToken);

        try
        {
            await using var host = await InProcessHost.StartAsync("egressd", b => b.AddAllInOne(), settings);
            await using var prometheus = await PrometheusServer.StartAsync([host.BaseAddress.Authority]);
            await prometheus.WaitForTargetsUpAsync(1, Patience);

            // What the pipeline-health panels show only when something goes wrong: a flow from an
            // address the enricher cannot place (delivered twice, as after a lost acknowledgement),
            // and a batch no collector can send (parked as invalid).
            var bus = host.Services.GetRequiredService<IBus>();
            var boot = Guid.NewGuid().ToString("N");
            FlowBatchCollected Batch(int window, string source, int protocol) => new()
            {
                Header = new BatchHeader
                {
                    Id = new BatchId { Node = "node-x", BootId = boot, Window = window, Part = 0, PartCount = 1 },
                    Node = "node-x",
                    WindowStart = DateTimeOffset.UtcNow.AddSeconds(-5),
                    WindowEnd = DateTimeOffset.UtcNow,
                    Source = FlowSource.Replay,
                },
                Flows = [new FlowRecord { SourceIp = IpAddr.Parse(source), DestinationIp = IpAddr.Parse("10.244.2.20"), Protocol = protocol, TxBytes = 1, RxBytes = 1, TxPackets = 1, RxPackets = 1 }],
                DnsAnswers = [],
            };
            var unplaced = Batch(1, "10.244.9.9", 6);
            await bus.PublishBatchAsync(unplaced, unplaced.Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            await bus.PublishBatchAsync(unplaced, unplaced.Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
            await bus.PublishBatchAsync(Batch(2, "10.244.9.9", 300), Batch(2, "10.244.9.9", 300).Header.Id, TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);

            var empty = new List<string>();
            var all = await Eventually.TrueAsync(async () =>
            {
                empty.Clear();
                foreach (var (title, expr) in queries)
                {
                    // A quantile over a histogram nothing was observed into is NaN, a panel without a line.
                    if (!(await prometheus.QueryAsync(Substitute(expr))).Any(s => !double.IsNaN(s.Value)))
                    {
                        empty.Add($"{title}: {expr}");
                    }
                }

                return empty.Count == 0;
            }, Patience, TimeSpan.FromSeconds(2));
            Assert.True(all, $"queries with no data:\n{string.Join('\n', empty)}\n{prometheus.Tail()}");

            // The lag panel: each sink's p50 and p99, a line per sink, from the batches the run applied.
            var lag = queries.Where(q => q.Expr.Contains("egressd_exporter_sink_lag_seconds_bucket", StringComparison.Ordinal)).ToList();
            Assert.Equal(2, lag.Count);
            foreach (var (title, expr) in lag)
            {
                Assert.True(await Eventually.TrueAsync(async () => (await prometheus.QueryAsync(Substitute(expr)))
                    .Any(l => l.Labels.GetValueOrDefault("sink") == "prometheus" && l.Value >= 0), Patience), $"{title}: no line for the prometheus sink: {expr}");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Every target's PromQL, with the panel's title.</summary>
    private static IEnumerable<(string Title, string Expr)> Queries(JsonNode dashboard)
    {
        foreach (var query in PanelQueries(dashboard["panels"]!.AsArray()))
        {
            yield return query;
        }

        foreach (var variable in dashboard["templating"]?["list"]?.AsArray() ?? [])
        {
            if (variable!["query"] is JsonObject query && query["query"]?.ToString() is { } q && q.StartsWith("label_values(", StringComparison.Ordinal))
            {
                // label_values(metric, label): the metric must carry the label.
                var inner = q["label_values(".Length..^1].Split(',');
                yield return ($"variable {variable["name"]}", $"count by ({inner[1].Trim()}) ({inner[0].Trim()})");
            }
        }
    }

    private static IEnumerable<(string Title, string Expr)> PanelQueries(JsonArray panels)
    {
        foreach (var panel in panels)
        {
            foreach (var target in panel!["targets"]?.AsArray() ?? [])
            {
                yield return (panel["title"]!.ToString(), target!["expr"]!.ToString());
            }

            // A collapsed row keeps its panels inside it.
            foreach (var query in PanelQueries(panel["panels"]?.AsArray() ?? []))
            {
                yield return query;
            }
        }
    }

    /// <summary>Grafana's variables as Grafana fills them: every namespace, a rate window of four scrapes, a range of the run.</summary>
    private static string Substitute(string expr) => expr
        .Replace("$__rate_interval", "10s", StringComparison.Ordinal)
        .Replace("$__range", "5m", StringComparison.Ordinal)
        .Replace("$namespace", ".*", StringComparison.Ordinal);
}
