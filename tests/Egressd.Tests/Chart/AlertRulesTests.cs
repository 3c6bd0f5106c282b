using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Egressd.Enricher;
using Egressd.Tests.Infrastructure;
using RabbitMQ.Client;

namespace Egressd.Tests.Chart;

/// <summary>
/// The chart's alert rules: promtool accepts them, and each alert fires in <c>promtool test rules</c>
/// on series recorded from the real services (collectors, enricher, exporter, a RabbitMQ of the
/// test's own) scraped by a real Prometheus while the test provokes the failures: a collector
/// whose recording cannot be read, one without CAP_NET_RAW, a malformed message parked, the
/// series cap reached, the enricher stopped a while (its backlog applied late), the broker stopped,
/// and the collectors killed.
/// </summary>
public sealed partial class AlertRulesTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    /// <summary>Each recorded second is one scrape at the chart's interval for promtool (the rules' ranges and `for`s are minutes).</summary>
    private const int Stretch = 30;

    /// <summary>
    /// How long the enricher is away: the backlog's lag, in real seconds (Stretch does not scale
    /// what the exporter measures), so the test's lag threshold is half of it rather than the default.
    /// </summary>
    private static readonly TimeSpan LateBy = TimeSpan.FromSeconds(12);

    private static readonly string[] WithoutNetRaw = ["setpriv", "--bounding-set=-net_raw", "--inh-caps=-net_raw", "--"];

    private static readonly string[] Alerts =
    [
        "EgressdPipelineStalled", "EgressdMessagesParked", "EgressdCollectorReadFailures", "EgressdCollectorPublishFailures",
        "EgressdSeriesCapReached", "EgressdDnsCaptureDown", "EgressdBrokerUnreachable", "EgressdCollectorMissing",
    ];

    /// <summary>The rules as the chart renders them (the PrometheusRule's spec), in a file promtool reads.</summary>
    private static string RulesFile(string dir, params string[] sets)
    {
        var rendered = HelmChart.Template(["--set", "global.monitoring.prometheusRule=true", .. sets.SelectMany(s => new[] { "--set", s })]);
        var rule = Assert.Single(rendered.OfKind("PrometheusRule"));
        var path = Path.Combine(dir, "rules.json");
        File.WriteAllText(path, rule["spec"]!.ToJsonString());
        return path;
    }

    [Fact]
    public void Promtool_accepts_the_rules_and_every_alert_has_a_runbook()
    {
        var dir = Directory.CreateTempSubdirectory("egressd-rules-").FullName;
        try
        {
            var rules = RulesFile(dir);
            var (code, said) = HelmChart.Run("promtool", ["check", "rules", rules]);
            Assert.True(code == 0, said);
            Assert.Contains($"SUCCESS: {Alerts.Length} rules found", said, StringComparison.Ordinal);

            var readme = File.ReadAllText(Repo.Path("helm", "README.md"));
            var spec = JsonNode.Parse(File.ReadAllText(rules))!;
            foreach (var rule in spec["groups"]![0]!["rules"]!.AsArray())
            {
                var name = rule!["alert"]!.ToString();
                Assert.Contains(name, Alerts);
                Assert.Equal($"helm/README.md#{name.ToLowerInvariant()}", rule["annotations"]!["runbook"]!.ToString());
                Assert.Contains($"### {name}\n", readme, StringComparison.Ordinal);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Each_alert_fires_on_series_recorded_from_the_real_services_in_a_provoked_failure()
    {
        NetnsLab.RequireRoot();
        var ct = TestContext.Current.CancellationToken;
        var dir = Directory.CreateTempSubdirectory("egressd-alerts-").FullName;
        await using var broker = await PrivateBroker.StartAsync("egressd-alerts-rabbitmq-");
        await using var api = await FakeKubernetesApi.StartAsync();
        using var lab = new NetnsLab();
        api.Apply(FakeKubernetesApi.Node(lab.Node, "zone-a", "region-1", "10.0.0.1"));
        api.Apply(FakeKubernetesApi.Pod("shop", "a", lab.Node, [NetnsLab.V4("a")]));
        api.Apply(FakeKubernetesApi.Pod("shop", "b", lab.Node, [NetnsLab.V4("b")]));

        // A recording the replay source cannot read: every read fails.
        var unreadable = Path.Combine(dir, "unreadable.jsonl");
        await File.WriteAllTextAsync(unreadable, "{ not a flow\n", ct);

        Dictionary<string, string?> Settings(int port, params (string Key, string? Value)[] more)
        {
            var settings = broker.BusSettings();
            settings["Egressd:Http:Port"] = port.ToString(CultureInfo.InvariantCulture);
            settings["Egressd:Http:BindAddress"] = "127.0.0.1";
            settings["Egressd:Kubernetes:Kubeconfig"] = api.Kubeconfig;
            foreach (var (key, value) in more)
            {
                settings[key] = value;
            }

            return settings;
        }

        (string, string?)[] Collector(string node, string source) =>
        [
            ("Egressd:Collector:Source", source), ("Egressd:Collector:Netns", lab.NodePath), ("Egressd:Collector:NodeName", node),
            ("Egressd:Collector:ReadInterval", "00:00:01"), ("Egressd:Collector:Dns:Enabled", "true"), ("Egressd:ClusterContext:Source", "Kubernetes"),
        ];

        var ports = Enumerable.Range(0, 5).Select(_ => FreePort.Next()).ToArray();
        var collectorDll = Repo.ServiceDll("collector", "Egressd.Collector");
        await using var collector = ServiceProcess.Start("collector", collectorDll, Settings(ports[0], Collector(lab.Node, "Netfilter")));
        await using var noDns = ServiceProcess.Start("collector-without-net-raw", collectorDll, Settings(ports[1], Collector("node-no-dns", "Netfilter")), launcher: WithoutNetRaw);
        await using var unreadableCollector = ServiceProcess.Start("collector-unreadable", collectorDll,
            Settings(ports[2], [.. Collector("node-unreadable", "Replay"), ("Egressd:Collector:ReplayFile", unreadable)]));
        var enricherSettings = Settings(ports[3], ("Egressd:ClusterContext:Source", "Kubernetes"));
        await using var enricher = ServiceProcess.Start("enricher", Repo.ServiceDll("enricher", "Egressd.Enricher"), enricherSettings);
        // One series allowed: the second flow's series is refused.
        await using var exporter = ServiceProcess.Start("exporter", Repo.ServiceDll("exporter", "Egressd.Exporter"), Settings(ports[4],
            ("Egressd:Exporter:Prometheus:MaxSeries", "1"), ("Egressd:Exporter:FlowLog:Enabled", "false")));
        foreach (var service in new[] { collector, noDns, unreadableCollector, enricher, exporter })
        {
            await service.WaitUntilAsync("/healthz", HttpStatusCode.OK, Patience);
        }

        static IReadOnlyDictionary<string, string> Node(string node) => new Dictionary<string, string> { ["node"] = node };
        var empty = new Dictionary<string, string>();
        string Target(int port) => $"127.0.0.1:{port}";
        await using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, IReadOnlyList<(string, IReadOnlyDictionary<string, string>)>>
        {
            ["egressd-collector"] = [(Target(ports[0]), Node(lab.Node)), (Target(ports[1]), Node("node-no-dns")), (Target(ports[2]), Node("node-unreadable"))],
            ["egressd-enricher"] = [(Target(ports[3]), empty)],
            ["egressd-exporter"] = [(Target(ports[4]), empty)],
        });
        Assert.True(await Eventually.TrueAsync(async () => (await prometheus.QueryAsync("up == 1")).Count == 5, Patience), prometheus.Tail());
        var start = DateTimeOffset.UtcNow;

        // Traffic from two pods all along (a cluster is never silent): two series, one over the cap,
        // and flows for the collectors to publish when the broker is gone.
        using var stopTraffic = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var traffic = Task.Run(async () =>
        {
            for (var i = 0; !stopTraffic.IsCancellationRequested; i = (i + 1) % 50)
            {
                await Traffic.TcpExchangeAsync(lab, "a", "c", IPAddress.Parse(NetnsLab.V4("c")), 7100 + i, 7100 + i, upload: 5_000, download: 5_000);
                await Traffic.TcpExchangeAsync(lab, "b", "c", IPAddress.Parse(NetnsLab.V4("c")), 7200 + i, 7200 + i, upload: 5_000, download: 5_000);
                await Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None);
            }
        }, CancellationToken.None);
        var capReached = await SeenAsync(prometheus, "egressd_exporter_series_refused_total > 0");

        // A malformed message: the enricher parks it in its _error queue.
        var factory = new ConnectionFactory { HostName = broker.Address.Host, Port = broker.Address.Port, UserName = "guest", Password = "guest" };
        await using (var connection = await factory.CreateConnectionAsync(ct))
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: ct))
        {
            var properties = new BasicProperties { ContentType = "application/vnd.masstransit+json", MessageId = Guid.NewGuid().ToString(), Persistent = true };
            await channel.BasicPublishAsync("", FlowBatchCollectedConsumerDefinition.Queue, mandatory: true, properties, Encoding.UTF8.GetBytes("{ this is not json"), ct);
        }

        var parked = await SeenAsync(prometheus, "egressd_bus_messages_faulted_total > 0");
        var readFailing = await SeenAsync(prometheus, "egressd_collector_read_failures_total > 0");
        var dnsDown = await SeenAsync(prometheus, "egressd_dns_capture_up == 0");

        // Long enough for the read failure and DNS alerts' `for` (5m and 10m at the chart's interval).
        var quietUntil = Later(readFailing, dnsDown) + TimeSpan.FromSeconds(24);
        await UntilAsync(quietUntil);
        await noDns.StopAsync();
        await unreadableCollector.StopAsync();
        await UntilAsync(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(3));

        // The enricher stopped while the collector publishes, then started again: the windows held
        // in its queue reach the exporter late, each sink's lag the length of the outage.
        await enricher.StopAsync();
        await UntilAsync(DateTimeOffset.UtcNow + TimeSpan.FromSeconds(LateBy.TotalSeconds + 2));
        await using var restartedEnricher = ServiceProcess.Start("enricher-restarted", Repo.ServiceDll("enricher", "Egressd.Enricher"), enricherSettings);
        await restartedEnricher.WaitUntilAsync("/healthz", HttpStatusCode.OK, Patience);
        var late = await SeenAsync(prometheus, $"histogram_quantile(0.99, sum by (le) (rate(egressd_exporter_sink_lag_seconds_bucket[20s]))) > {LateBy.TotalSeconds}");
        await UntilAsync(late + TimeSpan.FromSeconds(16));

        // The broker stopped: publishes fail, nothing is applied.
        await broker.HaltAsync();
        var publishFailing = await SeenAsync(prometheus, "increase(egressd_collector_publish_failures_total[10s]) > 0");
        var stalledFrom = DateTimeOffset.UtcNow;
        await UntilAsync(Later(publishFailing + TimeSpan.FromSeconds(20), stalledFrom + TimeSpan.FromSeconds(36)));

        // The last collector killed.
        await collector.KillAsync();
        var missing = await SeenAsync(prometheus, $"up{{instance=\"{Target(ports[0])}\"}} == 0");
        await UntilAsync(missing + TimeSpan.FromSeconds(34));
        var end = DateTimeOffset.UtcNow;
        await stopTraffic.CancelAsync();
        await traffic;

        // The series the rules read, as Prometheus recorded them, one value a second.
        var series = new List<(Dictionary<string, string> Labels, double?[] Values)>();
        foreach (var metric in new[]
        {
            "egressd_exporter_batches_applied_total", "egressd_bus_messages_faulted_total", "egressd_collector_read_failures_total",
            "egressd_collector_publish_failures_total", "egressd_collector_windows_published_total", "egressd_exporter_series_refused_total",
            "egressd_dns_capture_up", "egressd_collector_pending_keys", "egressd_exporter_sink_lag_seconds_bucket", "up",
        })
        {
            series.AddRange(await prometheus.QueryRangeAsync($"{{__name__=\"{metric}\"}}", start, end, TimeSpan.FromSeconds(1)));
        }

        string At(DateTimeOffset t) => $"{(int)Math.Ceiling((t - start).TotalSeconds) * Stretch}s";
        var release = new Dictionary<string, string> { ["release"] = HelmChart.Release };
        Dictionary<string, string> Labels(string severity, params (string, string)[] more) =>
            new(release.Append(new("severity", severity)).Concat(more.Select(m => new KeyValuePair<string, string>(m.Item1, m.Item2))));
        var collectorOf = (string port, string node) => new[] { ("job", "egressd-collector"), ("instance", port), ("node", node) };
        var tests = new List<(string Alert, string EvalTime, List<Dictionary<string, string>> Expected)>
        {
            ("EgressdSeriesCapReached", At(capReached + TimeSpan.FromSeconds(3)), [Labels("warning", ("job", "egressd-exporter"), ("instance", Target(ports[4])))]),
            ("EgressdMessagesParked", At(parked + TimeSpan.FromSeconds(3)), [Labels("warning", ("job", "egressd-enricher"), ("queue", FlowBatchCollectedConsumerDefinition.Queue + "_error"), ("reason", "malformed"))]),
            ("EgressdCollectorReadFailures", At(quietUntil), [Labels("warning", collectorOf(Target(ports[2]), "node-unreadable"))]),
            // The collector refused CAP_NET_RAW, and the one replaying a recording (it opens no packet socket).
            ("EgressdDnsCaptureDown", At(quietUntil), [Labels("warning", collectorOf(Target(ports[2]), "node-unreadable")), Labels("warning", collectorOf(Target(ports[1]), "node-no-dns"))]),
            ("EgressdCollectorPublishFailures", At(publishFailing + TimeSpan.FromSeconds(18)), [Labels("warning", collectorOf(Target(ports[0]), lab.Node))]),
            ("EgressdBrokerUnreachable", At(publishFailing + TimeSpan.FromSeconds(18)), [Labels("critical")]),
            ("EgressdPipelineStalled", At(stalledFrom + TimeSpan.FromSeconds(36)), [Labels("critical")]),
            // Batches applied all through the rule's range (the backlog itself), so only the lag fires it.
            ("EgressdPipelineStalled", At(late + TimeSpan.FromSeconds(14)), [Labels("critical")]),
            ("EgressdCollectorMissing", At(end - TimeSpan.FromSeconds(1)),
                [.. new[] { (ports[0], lab.Node), (ports[1], "node-no-dns"), (ports[2], "node-unreadable") }.Select(c => Labels("warning", collectorOf(Target(c.Item1), c.Item2)))]),
        };
        Assert.Equal(Alerts.Order(StringComparer.Ordinal), tests.Select(t => t.Alert).Distinct().Order(StringComparer.Ordinal));

        // Before its failure each alert is quiet: at the start every component was healthy.
        var healthy = At(start + TimeSpan.FromSeconds(1));
        var rulesFile = RulesFile(dir, $"global.monitoring.alerts.lagAboveSeconds={LateBy.TotalSeconds / 2}");
        var annotations = JsonNode.Parse(await File.ReadAllTextAsync(rulesFile, ct))!["groups"]![0]!["rules"]!.AsArray()
            .ToDictionary(r => r!["alert"]!.ToString(), r => r!["annotations"]!.AsObject());

        // An alert's annotations as Prometheus expands them: {{ $labels.x }} is the alert's label x.
        JsonObject Annotated(string alert, Dictionary<string, string> labels) => new(annotations[alert].Select(a => new KeyValuePair<string, JsonNode?>(a.Key,
            LabelReference().Replace(a.Value!.ToString(), m => labels.GetValueOrDefault(m.Groups[1].Value, "")))));
        var testFile = new JsonObject
        {
            ["rule_files"] = new JsonArray(rulesFile),
            ["evaluation_interval"] = $"{Stretch}s",
            ["tests"] = new JsonArray(new JsonObject
            {
                ["interval"] = $"{Stretch}s",
                ["input_series"] = new JsonArray([.. series.Select(s => (JsonNode)new JsonObject
                {
                    ["series"] = "{" + string.Join(",", s.Labels.Select(l => $"{l.Key}=\"{l.Value}\"")) + "}",
                    ["values"] = string.Join(' ', s.Values.Select(v => v is { } value ? value.ToString("R", CultureInfo.InvariantCulture) : "_")),
                })]),
                ["alert_rule_test"] = new JsonArray([
                    .. tests.Select(t => (JsonNode)new JsonObject
                    {
                        ["eval_time"] = t.EvalTime,
                        ["alertname"] = t.Alert,
                        ["exp_alerts"] = new JsonArray([.. t.Expected.Select(e => (JsonNode)new JsonObject
                        {
                            ["exp_labels"] = new JsonObject([.. e.Select(l => new KeyValuePair<string, JsonNode?>(l.Key, l.Value))]),
                            ["exp_annotations"] = Annotated(t.Alert, e),
                        })]),
                    }),
                    .. Alerts.Select(a => (JsonNode)new JsonObject { ["eval_time"] = healthy, ["alertname"] = a, ["exp_alerts"] = new JsonArray() }),
                ]),
            }),
        };
        var file = Path.Combine(dir, "alerts-test.json");
        await File.WriteAllTextAsync(file, testFile.ToJsonString(), ct);
        var (code, said) = HelmChart.Run("promtool", ["test", "rules", file]);
        Assert.True(code == 0, $"promtool test rules:\n{said}\n(recording kept in {file})");
        Assert.Contains("SUCCESS", said, StringComparison.Ordinal);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>When Prometheus first answers the query with a result.</summary>
    private static async Task<DateTimeOffset> SeenAsync(PrometheusServer prometheus, string promql)
    {
        Assert.True(await Eventually.TrueAsync(async () => (await prometheus.QueryAsync(promql)).Count > 0, Patience), $"Prometheus never saw {promql}\n{prometheus.Tail()}");
        return DateTimeOffset.UtcNow;
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>Lets the recording run on until a moment (the alerts' windows are lengths of recording, not waits for a result).</summary>
    private static async Task UntilAsync(DateTimeOffset moment)
    {
        var left = moment - DateTimeOffset.UtcNow;
        if (left > TimeSpan.Zero)
        {
            await Task.Delay(left, TestContext.Current.CancellationToken);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\{\{ \$labels\.(\w+) \}\}")]
    private static partial System.Text.RegularExpressions.Regex LabelReference();
}
