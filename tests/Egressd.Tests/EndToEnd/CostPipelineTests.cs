using System.Net;
using System.Text.Json.Nodes;
using Egressd.Exporter.Sinks.Http;
using Egressd.Exporter.Sinks.Http.Protobuf;
using Egressd.Tests.Infrastructure;

namespace Egressd.Tests.EndToEnd;

/// <summary>
/// What the traffic costs, through the real pipeline: three kinds of process on a real RabbitMQ,
/// two collectors (one per node, each replaying what its own pod saw), known bytes in, and every
/// output's dollars equal to the bytes times AWS's documented prices (docs/COST.md), to the pico-dollar.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class CostPipelineTests(RabbitMqBroker broker)
{
    // AWS list prices in pico-dollars per byte (docs/COST.md): $0.01/GB between zones, each side
    // ($0.02/GB together), $0.09/GB to the internet, $0.045/GB of NAT processing either way.
    private const long CrossZone = 10;
    private const long Internet = 90;
    private const long Nat = 45;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Two_pods_in_two_zones_each_pay_their_side_nat_and_free_cidrs_apply_and_every_output_agrees()
    {
        var ct = TestContext.Current.CancellationToken;
        var run = Guid.NewGuid().ToString("N")[..8];
        var ns = "cost-" + run;
        var (nodeA, nodeB) = ("cost-a-" + run, "cost-b-" + run);
        // Pod addresses of this run alone: the enricher prices whatever batch it takes from the shared
        // broker by its own inventory, and another test's batch (a leftover of a killed service, say)
        // from the usual addresses would be priced as this run's pods.
        var subnet = $"10.{100 + (Convert.ToInt32(run[..2], 16) % 100)}.{Convert.ToInt32(run[2..4], 16)}";
        var (webIp, dbIp) = (subnet + ".10", subnet + ".20");
        var dir = Directory.CreateTempSubdirectory("egressd-cost-e2e-").FullName;
        var inventory = Path.Combine(dir, "inventory.json");
        // node A has no external address (its internet traffic goes through a NAT gateway); node B has one.
        await File.WriteAllTextAsync(inventory, $$"""
            {
              "nodes": [
                { "name": "{{nodeA}}", "providerId": "aws:///us-east-1a/i-0aaa", "labels": { "topology.kubernetes.io/zone": "us-east-1a", "topology.kubernetes.io/region": "us-east-1" }, "internalIps": ["10.0.0.1"] },
                { "name": "{{nodeB}}", "providerId": "aws:///us-east-1b/i-0bbb", "labels": { "topology.kubernetes.io/zone": "us-east-1b", "topology.kubernetes.io/region": "us-east-1" }, "internalIps": ["10.0.0.2"], "externalIps": ["203.0.113.2"] }
              ],
              "pods": [
                { "namespace": "{{ns}}", "name": "web-0", "node": "{{nodeA}}", "ips": ["{{webIp}}"], "workloadKind": "Deployment", "workloadName": "web" },
                { "namespace": "{{ns}}", "name": "db-0", "node": "{{nodeB}}", "ips": ["{{dbIp}}"], "workloadKind": "StatefulSet", "workloadName": "db" }
              ]
            }
            """, ct);
        // Each collector sees its own pod's side: web sent 1 MB to db and got 3 MB back; db the mirror of that.
        var replayA = Path.Combine(dir, "a.jsonl");
        await File.WriteAllTextAsync(replayA, $$"""
            {"proto":6,"src":"{{webIp}}","dst":"{{dbIp}}","tx_bytes":1000000,"rx_bytes":3000000,"tx_packets":10,"rx_packets":30}
            {"proto":6,"src":"{{webIp}}","dst":"198.18.7.9","tx_bytes":500000,"rx_bytes":7000000,"tx_packets":5,"rx_packets":70}
            {"proto":6,"src":"{{webIp}}","dst":"198.18.9.9","tx_bytes":2000000,"rx_bytes":2000000,"tx_packets":20,"rx_packets":20}
            """.Replace("    ", "", StringComparison.Ordinal), ct);
        var replayB = Path.Combine(dir, "b.jsonl");
        await File.WriteAllTextAsync(replayB, $$"""
            {"proto":6,"src":"{{dbIp}}","dst":"{{webIp}}","tx_bytes":3000000,"rx_bytes":1000000,"tx_packets":30,"rx_packets":10}
            {"proto":6,"src":"{{dbIp}}","dst":"198.18.7.9","tx_bytes":500000,"rx_bytes":7000000,"tx_packets":5,"rx_packets":70}
            """.Replace("    ", "", StringComparison.Ordinal), ct);

        await using var receiver = await WebhookReceiver.StartAsync();
        var bus = await broker.BusSettingsAsync();
        var cluster = With(bus, ("Egressd:ClusterContext:Source", "Inventory"), ("Egressd:Inventory:File", inventory));
        var flowLog = Path.Combine(dir, "flows.jsonl");
        var exporterSettings = With(cluster, ("Egressd:Exporter:FlowLog:Path", flowLog));
        await using var protobufQueue = new SinkQueueDeletedAfterwards(broker, HttpSinkSettings.QueueName("costpb" + run));
        await using var jsonQueue = new SinkQueueDeletedAfterwards(broker, HttpSinkSettings.QueueName("costjs" + run));
        foreach (var (name, encoding) in new[] { ("costpb" + run, "protobuf"), ("costjs" + run, "json") })
        {
            exporterSettings[$"Egressd:Exporter:Sinks:{name}:http:url"] = receiver.BaseAddress + name[..6];
            exporterSettings[$"Egressd:Exporter:Sinks:{name}:http:encoding"] = encoding;
            exporterSettings[$"Egressd:Exporter:Sinks:{name}:http:interval"] = "0";
        }

        await using var exporter = ServiceProcess.Start("exporter", Repo.ServiceDll("exporter", "Egressd.Exporter"), exporterSettings);
        // An address range that costs nothing (a gateway endpoint, say): web's traffic to it is free.
        await using var enricher = ServiceProcess.Start("enricher", Repo.ServiceDll("enricher", "Egressd.Enricher"), With(cluster,
            ("Egressd:Cost:Destinations:0:Cidrs:0", "198.18.9.0/24"), ("Egressd:Cost:Destinations:0:Price", "free")));
        await exporter.WaitUntilAsync("/readyz", HttpStatusCode.OK, Patience);
        await enricher.WaitUntilAsync("/readyz", HttpStatusCode.OK, Patience);
        await using var collectorA = StartCollector(cluster, nodeA, replayA);
        await using var collectorB = StartCollector(cluster, nodeB, replayB);

        // Expected, from the bytes and the prices alone.
        var web = (Egress: (1_000_000 * CrossZone) + (500_000 * Internet), Ingress: 3_000_000 * CrossZone, Nat: (500_000 + 7_000_000) * Nat);
        var db = (Egress: (3_000_000 * CrossZone) + (500_000 * Internet), Ingress: 1_000_000 * CrossZone, Nat: 0L);

        // Prometheus.
        string scraped = "";
        Assert.True(await Eventually.TrueAsync(async () => Math.Abs(Cost(scraped = await exporter.GetStringAsync("/metrics"), ns) - Dollars(web.Egress + web.Ingress + web.Nat + db.Egress + db.Ingress + db.Nat)) < 1e-15, Patience),
            $"the cost counters never reached the expected total\n{Samples(scraped, ns)}\n{collectorA.Tail()}\n{enricher.Tail()}\n{exporter.Tail()}");
        Assert.Equal(Dollars(web.Egress), Cost(scraped, ns, "web", "egress"), 15);
        Assert.Equal(Dollars(web.Ingress), Cost(scraped, ns, "web", "ingress"), 15);
        Assert.Equal(Dollars(web.Nat), Cost(scraped, ns, "web", "nat"), 15);
        Assert.Equal(Dollars(db.Egress), Cost(scraped, ns, "db", "egress"), 15);
        Assert.Equal(Dollars(db.Ingress), Cost(scraped, ns, "db", "ingress"), 15);
        Assert.Equal(0, Cost(scraped, ns, "db", "nat"));
        // The two-sided invariant: between the zones the two pods together pay each byte at $0.02/GB, once.
        var crossZone = Exposition.Samples(scraped, "egressd_transfer_cost_usd_total").Where(s => s.Labels["src_namespace"] == ns && s.Labels["traffic_class"] == "cross-zone").Sum(s => s.Value);
        Assert.Equal(Dollars((1_000_000 + 3_000_000) * 2 * CrossZone), crossZone, 15);
        var (code, promtool) = Exposition.Promtool(scraped);
        Assert.True(code == 0, promtool);

        // The flow log and the webhooks say the same, flow by flow.
        var lines = (await File.ReadAllLinesAsync(flowLog, ct)).Select(l => JsonNode.Parse(l)!).Where(l => (string?)l["src_namespace"] == ns).ToList();
        Assert.Equal(5, lines.Count);
        Assert.Equal(PerPod(web, db), LineCosts(lines));
        Assert.Equal(0m, lines.Where(l => (string?)l["dst_ip"] == "198.18.9.9").Sum(l => (decimal?)l["cost_egress_usd"] ?? 0));
        Assert.True(await Eventually.TrueAsync(() => Flows(receiver, "/costjs").Count(f => (string?)f["src_namespace"] == ns) == 5 && Metrics(receiver).Count(m => m.SrcNamespace == ns) == 5, Patience), "the webhooks never got all five flows");
        Assert.Equal(PerPod(web, db), LineCosts([.. Flows(receiver, "/costjs").Where(f => (string?)f["src_namespace"] == ns)]));
        var pb = Metrics(receiver).Where(m => m.SrcNamespace == ns).ToList();
        Assert.Equal(web.Egress + web.Ingress + web.Nat, pb.Where(m => m.SrcPod == "web-0").Sum(m => (long)(m.CostEgressPicodollars + m.CostIngressPicodollars + m.CostNatPicodollars)));
        Assert.Equal(db.Egress + db.Ingress + db.Nat, pb.Where(m => m.SrcPod == "db-0").Sum(m => (long)(m.CostEgressPicodollars + m.CostIngressPicodollars + m.CostNatPicodollars)));
        Directory.Delete(dir, recursive: true);
    }

    private static ServiceProcess StartCollector(Dictionary<string, string?> settings, string node, string replay) =>
        ServiceProcess.Start("collector-" + node, Repo.ServiceDll("collector", "Egressd.Collector"), With(settings,
            ("Egressd:Collector:NodeName", node),
            ("Egressd:Collector:Source", "replay"),
            ("Egressd:Collector:ReplayFile", replay),
            ("Egressd:Collector:ReadInterval", "00:00:00.300")));

    private static double Dollars(long picodollars) => picodollars / 1e12;

    private static double Cost(string scraped, string ns, string? workload = null, string? charge = null) =>
        Exposition.Samples(scraped, "egressd_transfer_cost_usd_total")
            .Where(s => s.Labels["src_namespace"] == ns && (workload is null || s.Labels["src_workload"] == workload) && (charge is null || s.Labels["charge"] == charge))
            .Sum(s => s.Value);

    private static string Samples(string scraped, string ns) =>
        string.Join('\n', scraped.Split('\n').Where(l => l.StartsWith("egressd_transfer_cost_usd_total", StringComparison.Ordinal) && l.Contains(ns, StringComparison.Ordinal)));

    private static Dictionary<string, (decimal, decimal, decimal)> PerPod((long Egress, long Ingress, long Nat) web, (long Egress, long Ingress, long Nat) db) => new()
    {
        ["web-0"] = (web.Egress / 1e12m, web.Ingress / 1e12m, web.Nat / 1e12m),
        ["db-0"] = (db.Egress / 1e12m, db.Ingress / 1e12m, db.Nat / 1e12m),
    };

    private static Dictionary<string, (decimal, decimal, decimal)> LineCosts(IEnumerable<JsonNode> lines) =>
        lines.GroupBy(l => (string)l["src_pod"]!).ToDictionary(
            g => g.Key,
            g => (g.Sum(l => (decimal?)l["cost_egress_usd"] ?? 0), g.Sum(l => (decimal?)l["cost_ingress_usd"] ?? 0), g.Sum(l => (decimal?)l["cost_nat_usd"] ?? 0)));

    private static IEnumerable<JsonNode> Flows(WebhookReceiver receiver, string path) =>
        receiver.Requests.Where(r => r.PathAndQuery == path).SelectMany(r => JsonNode.Parse(r.Body)!["flows"]!.AsArray()).OfType<JsonNode>();

    private static IEnumerable<PodNetworkMetric> Metrics(WebhookReceiver receiver) =>
        receiver.Requests.Where(r => r.PathAndQuery == "/costpb").SelectMany(r => PodNetworkMetricBatch.Parser.ParseFrom(r.Body).Items);

    private static Dictionary<string, string?> With(Dictionary<string, string?> settings, params (string Key, string Value)[] more)
    {
        var all = new Dictionary<string, string?>(settings);
        foreach (var (key, value) in more)
        {
            all[key] = value;
        }

        return all;
    }
}
