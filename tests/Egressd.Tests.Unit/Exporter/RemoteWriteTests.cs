using System.Collections.Concurrent;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Exporter.Sinks.Prometheus.RemoteWrite;
using Egressd.Shared.Network;
using Egressd.Tests.Exporter.Prompb;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;
using Snappier;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>The remote-write encoder read back by the official protobuf runtime, and the pusher against a scripted receiver.</summary>
public sealed class RemoteWriteTests
{
    private static readonly FlowLabelContext Context = new(new NetworkOptions().PublicAddresses());

    private static FlowSeriesStore StoreWith(params FlowRow[] flows)
    {
        var store = new FlowSeriesStore(FlowLabels.PodLevel, Context, 100_000, TimeSpan.FromMinutes(1), TimeProvider.System, TestMetrics.PrometheusSink());
        store.Apply(flows);
        return store;
    }

    private static WriteRequest Decode(ReadOnlySpan<byte> encoded) => WriteRequest.Parser.ParseFrom(encoded.ToArray());

    [Fact]
    public void Cost_series_are_encoded_in_dollars_with_charge_and_sorted_labels()
    {
        var costs = new Egressd.Exporter.Sinks.Prometheus.Cost.CostSeriesStore(
            Egressd.Exporter.Sinks.Prometheus.Cost.CostLabels.Resolve(new PrometheusOptions()), new FlowLabelContext(new NetworkOptions().PublicAddresses()), 100, TimeSpan.FromMinutes(10), TimeProvider.System, TestMetrics.PrometheusSink());
        costs.Apply(EnrichedRows.Batch([PodFlow("shop", "web-1", "db", "db-0", txBytes: 1_000_000_000, rxBytes: 1) with { Cost = new Egressd.Contracts.FlowCharges { Egress = 10_000_000_000, Ingress = 10 } }]));
        var encoder = new RemoteWriteEncoder([], [new("cluster", "prod")], [0], 1000);
        encoder.Reset(1_700_000_000_123);
        encoder.AppendCost(costs.LabelNames, [new("cluster", "prod")], costs.Read());

        var request = Decode(encoder.Written);
        Assert.Equal(2, request.Timeseries.Count);
        var egress = request.Timeseries.Single(s => s.Labels.Any(l => l is { Name: "charge", Value: "egress" }));
        Assert.Equal(["__name__", "charge", "cluster", "src_namespace", "src_workload", "traffic_class"], egress.Labels.Select(l => l.Name));
        Assert.Equal("egressd_transfer_cost_usd_total", egress.Labels[0].Value);
        Assert.Equal(0.01, egress.Samples[0].Value);
        Assert.Equal(1_700_000_000_123, egress.Samples[0].Timestamp);
    }

    [Fact]
    public void Series_are_encoded_with_sorted_labels_static_ones_included_and_empty_values_left_out()
    {
        var store = StoreWith(
            PodFlow("shop", "web-1", "db", "db-0", txBytes: 100, rxBytes: 200, txPackets: 3, rxPackets: 4),
            BareFlow("10.244.1.10", "198.18.7.9", 77));
        var encoder = new RemoteWriteEncoder(store.LabelNames, [new("cluster", "prod"), new("Zone_owner", "net")], [0, 1, 2, 3], 1000);
        encoder.Reset(1_700_000_000_123);
        Assert.Equal(-1, store.Visit(0, encoder));

        var request = Decode(encoder.Written);

        Assert.Equal(8, request.Timeseries.Count);
        foreach (var series in request.Timeseries)
        {
            var names = series.Labels.Select(l => l.Name).ToList();
            Assert.Equal(names.Order(StringComparer.Ordinal), names);
            Assert.Equal("Zone_owner", names[0]);
            Assert.Equal("__name__", names[1]);
            Assert.All(series.Labels, l => Assert.NotEqual("", l.Value));
            Assert.Equal(1_700_000_000_123, Assert.Single(series.Samples).Timestamp);
            Assert.Contains(series.Labels, l => l is { Name: "cluster", Value: "prod" });
        }

        string Label(TimeSeries s, string name) => s.Labels.SingleOrDefault(l => l.Name == name)?.Value ?? "";
        var pod = request.Timeseries.Where(s => Label(s, "src_pod") == "web-1").ToDictionary(s => Label(s, "__name__"), s => s.Samples[0].Value);
        Assert.Equal(100, pod["egressd_transmit_bytes_total"]);
        Assert.Equal(200, pod["egressd_received_bytes_total"]);
        Assert.Equal(3, pod["egressd_transmit_packets_total"]);
        Assert.Equal(4, pod["egressd_received_packets_total"]);

        var bare = request.Timeseries.Single(s => Label(s, "dst_ip") == "198.18.7.9" && Label(s, "__name__") == "egressd_transmit_bytes_total");
        Assert.Equal(77, bare.Samples[0].Value);
        // Unknown pods, namespaces, nodes and zones: absent, as a scrape of an empty label would be.
        Assert.Equal(["Zone_owner", "__name__", "cluster", "cross_zone", "dst_ip", "dst_ip_type", "proto", "src_ip"], bare.Labels.Select(l => l.Name));
    }

    [Fact]
    public void Combined_series_are_sent_as_their_two_totals_whatever_directional_counters_are_chosen()
    {
        var flow = PodFlow("shop", "web-1", "db", "db-0", txBytes: 100, rxBytes: 200, txPackets: 3, rxPackets: 4);
        var store = StoreWith(flow);
        store.Apply([flow with { Flow = flow.Flow with { TxBytes = 700, RxBytes = 0, TxPackets = 7, RxPackets = 0 } }], Egressd.Contracts.FlowCounterDirections.Combined);
        var encoder = new RemoteWriteEncoder(store.LabelNames, [], [0, 2], 100);
        encoder.Reset(1);
        Assert.Equal(-1, store.Visit(0, encoder));

        var sent = Decode(encoder.Written).Timeseries
            .ToDictionary(s => s.Labels.Single(l => l.Name == "__name__").Value, s => s.Samples[0].Value);
        Assert.Equal(
            new Dictionary<string, double>
            {
                ["egressd_transmit_bytes_total"] = 100,
                ["egressd_transmit_packets_total"] = 3,
                ["egressd_combined_bytes_total"] = 700,
                ["egressd_combined_packets_total"] = 7,
            },
            sent);
    }

    [Fact]
    public void Requests_hold_at_most_the_configured_samples_and_cover_every_series_once()
    {
        var store = StoreWith([.. Enumerable.Range(0, 1001).Select(i => PodFlow("shop", $"web-{i}", "db", "db-0", txBytes: 1, sourceIp: $"10.1.{i / 250}.{i % 250}"))]);
        var encoder = new RemoteWriteEncoder(store.LabelNames, [], [0, 2], 100);
        var pods = new List<string>();
        var cursor = 0;
        var requests = 0;
        while (cursor >= 0)
        {
            encoder.Reset(1);
            cursor = store.Visit(cursor, encoder);
            var request = Decode(encoder.Written);
            Assert.InRange(request.Timeseries.Count, 1, 100);
            pods.AddRange(request.Timeseries.Where(s => s.Labels.Any(l => l is { Name: "__name__", Value: "egressd_transmit_bytes_total" }))
                .Select(s => s.Labels.Single(l => l.Name == "src_pod").Value));
            requests++;
        }

        Assert.Equal(21, requests);
        Assert.Equal(1001, pods.Distinct().Count());
        Assert.Equal(1001, pods.Count);
    }

    [Fact]
    public async Task Push_retries_5xx_with_backoff_sends_headers_with_variables_expanded_and_gives_up_on_a_4xx()
    {
        var secret = "token-" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable("EGRESSD_TEST_REMOTE_WRITE_TOKEN", secret);
        await using var receiver = await WebhookReceiver.StartAsync();
        var statuses = new ConcurrentQueue<int>();
        receiver.Script = _ => new(statuses.TryDequeue(out var status) ? status : 204);
        var logs = new CapturedLogs();
        await using var exporter = await InMemoryExporter.StartWithRemoteWriteAsync($"{receiver.BaseAddress}api/v1/write?key=${{EGRESSD_TEST_REMOTE_WRITE_TOKEN}}", logs, new Dictionary<string, string?>
        {
            ["Egressd:Exporter:RemoteWrite:Headers:Authorization"] = "Bearer ${EGRESSD_TEST_REMOTE_WRITE_TOKEN}",
            ["Egressd:Exporter:RemoteWrite:Headers:X-Scope-OrgID"] = "tenant-1",
            ["Egressd:Exporter:RemoteWrite:RetryLimit"] = "3",
            ["Egressd:Exporter:RemoteWrite:RetryDelay"] = "00:00:00.050",
        });
        var store = exporter.Services.GetRequiredService<FlowSeriesStore>();
        store.Apply([PodFlow("shop", "web-1", "db", "db-0", txBytes: 100)]);
        var pusher = exporter.Services.GetRequiredService<RemoteWritePusher>();
        var ct = TestContext.Current.CancellationToken;

        var metrics = exporter.Services.GetRequiredService<RemoteWriteMetrics>();
        foreach (var status in new[] { 503, 500, 204 })
        {
            statuses.Enqueue(status);
        }

        Assert.True(await pusher.PushAsync(ct));
        Assert.Equal(3, receiver.Requests.Count);
        Assert.Equal(2, metrics.Retries.Value);
        Assert.Equal(1, metrics.Pushes.Value);
        Assert.Equal(0, metrics.Failures.Value);
        var accepted = receiver.Requests.Last();
        Assert.Equal($"Bearer {secret}", accepted.Headers["Authorization"]);
        Assert.Equal("tenant-1", accepted.Headers["X-Scope-OrgID"]);
        Assert.Equal("snappy", accepted.Headers["Content-Encoding"]);
        Assert.Equal("application/x-protobuf", accepted.Headers["Content-Type"]);
        Assert.Equal("0.1.0", accepted.Headers["X-Prometheus-Remote-Write-Version"]);
        var request = Decode(Snappy.DecompressToArray(accepted.Body));
        // Without SendReceivedBytes: transmit bytes and packets only.
        Assert.Equal(["egressd_transmit_bytes_total", "egressd_transmit_packets_total"],
            request.Timeseries.Select(s => s.Labels.Single(l => l.Name == "__name__").Value).Order(StringComparer.Ordinal));
        // How long each retry waited is Polly's exponential backoff with jitter, which may draw a
        // first wait of almost nothing: not asserted here.

        // A 400 is the receiver refusing the data: retrying cannot help.
        var before = receiver.Requests.Count;
        statuses.Enqueue(400);
        Assert.False(await pusher.PushAsync(ct));
        Assert.Equal(before + 1, receiver.Requests.Count);
        Assert.Equal(1, metrics.Failures.Value);
        Assert.Equal(2, metrics.Retries.Value);

        // Nothing listening: transport errors are retried, then the push fails.
        var closed = FreePort.Next();
        Assert.False(await new RemoteWritePusher(store, exporter.Services.GetRequiredService<Egressd.Exporter.Sinks.Prometheus.Cost.CostSeriesStore>(), NewClient($"http://127.0.0.1:{closed}/api/v1/write", exporter), exporter.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RemoteWriteOptions>>(), exporter.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<PrometheusOptions>>(), TimeProvider.System,
            exporter.Services.GetRequiredService<ILogger<RemoteWritePusher>>(), metrics).PushAsync(ct));
        Assert.Equal(2, metrics.Failures.Value);

        // Failures were logged (with where to), the secret in the URL and the header never was.
        Assert.Contains("[3201]", logs.All, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{receiver.BaseAddress.Port}", logs.All, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, logs.All, StringComparison.Ordinal);
        Assert.Equal($"/api/v1/write?key={secret}", accepted.PathAndQuery);
    }

    private static RemoteWriteClient NewClient(string url, InProcessHost host)
    {
        var options = host.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<RemoteWriteOptions>>().Value;
        var copy = Microsoft.Extensions.Options.Options.Create(new RemoteWriteOptions { Enabled = true, Url = url, RetryLimit = options.RetryLimit, RetryDelay = options.RetryDelay });
        var http = host.Services.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(RemoteWriteClient));
        return new RemoteWriteClient(http, copy);
    }
}
