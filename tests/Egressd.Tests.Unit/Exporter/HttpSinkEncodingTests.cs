using System.Text.Json;
using Egressd.Contracts;
using Egressd.Exporter;
using Egressd.Exporter.Sinks.Http;
using Egressd.Shared.Network;
using Egressd.Tests.Exporter.EgressdPb;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>The HTTP sink's bodies read back with egressd's own schema and with a JSON parser, and its configuration read as egressd's.</summary>
public sealed class HttpSinkEncodingTests
{
    private static readonly PublicAddresses Private = new NetworkOptions().PublicAddresses();

    private static FlowBatchEnriched Sample() => Batch("node-a", "boot", 7,
        PodFlow("shop", "web-1", "db", "db-0", txBytes: 100, rxBytes: 200, txPackets: 3, rxPackets: 4),
        PodFlow("shop", "web-1", "", "", txBytes: 5000, rxBytes: 6000, txPackets: 7, rxPackets: 8,
            destinationIp: "198.18.0.9", protocol: 17, trafficClass: TrafficClass.Internet) with
        {
            DestinationDnsName = "api.example.com",
            Destination = new FlowEndpoint { Pod = "not-for-public", Zone = "nowhere" },
        },
        BareFlow("10.244.9.9", "10.244.2.20", 1));

    [Fact]
    public void Gzip_protobuf_decodes_with_egressds_schema_field_by_field()
    {
        var encoder = new HttpSinkEncoder(HttpSinkEncoding.Protobuf, gzip: true, Private);
        var body = encoder.Encode([new BatchSlice(Sample(), 0, 3)], out var flows, out var dropped);

        using var zip = new System.IO.Compression.GZipStream(new MemoryStream(body.ToArray()), System.IO.Compression.CompressionMode.Decompress);
        var batch = PodNetworkMetricBatch.Parser.ParseFrom(zip);
        Assert.Equal(2, flows);
        Assert.Equal(1, dropped);
        Assert.Equal(2, batch.Items.Count);

        // Every flow of the sample is sent by web-1.
        static PodNetworkMetric FromWeb1(PodNetworkMetric rest)
        {
            var metric = new PodNetworkMetric { SrcIp = "10.244.1.10", SrcPod = "web-1", SrcNamespace = "shop", SrcNode = "node-a", SrcZone = "zone-a" };
            metric.MergeFrom(rest);
            return metric;
        }

        Assert.Equal(FromWeb1(new PodNetworkMetric
        {
            DstIp = "10.244.2.20",
            DstPod = "db-0",
            DstNamespace = "db",
            DstNode = "node-b",
            DstZone = "zone-b",
            TxBytes = 100,
            TxPackets = 3,
            RxBytes = 200,
            RxPackets = 4,
            Proto = 6,
        }), batch.Items[0]);

        // Public: the DNS name, and no destination pod, namespace, node or zone.
        Assert.Equal(FromWeb1(new PodNetworkMetric
        {
            DstIp = "198.18.0.9",
            TxBytes = 5000,
            TxPackets = 7,
            RxBytes = 6000,
            RxPackets = 8,
            Proto = 17,
            DstDnsName = "api.example.com",
        }), batch.Items[1]);
    }

    [Fact]
    public void Ndjson_has_one_line_per_flow_with_every_enriched_field()
    {
        var encoder = new HttpSinkEncoder(HttpSinkEncoding.Ndjson, gzip: false, Private);
        var sample = Sample() with { Flows = [.. Sample().Flows.Select(f => f with { DestinationService = "db/db" })] };
        var body = encoder.Encode([new BatchSlice(sample, 1, 2)], out var flows, out _);

        var lines = System.Text.Encoding.UTF8.GetString(body).TrimEnd('\n').Split('\n');
        Assert.Equal(2, flows);
        Assert.Equal(2, lines.Length);
        using var first = JsonDocument.Parse(lines[0]);
        var line = first.RootElement;
        Assert.Equal("node-a/boot/7/1-of-1", line.GetProperty("batch_id").GetString());
        Assert.Equal(2, line.GetProperty("batch_line").GetInt32());
        Assert.Equal("internet", line.GetProperty("traffic_class").GetString());
        Assert.Equal("api.example.com", line.GetProperty("dst_dns_name").GetString());
        Assert.Equal("db/db", line.GetProperty("dst_service").GetString());
        Assert.Equal("Deployment", line.GetProperty("src_workload_kind").GetString());
        Assert.Equal("web", line.GetProperty("src_workload_name").GetString());
        Assert.Equal("region-1", line.GetProperty("src_region").GetString());
        Assert.Equal(5000UL, line.GetProperty("tx_bytes").GetUInt64());
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal("10.244.9.9", second.RootElement.GetProperty("src_ip").GetString());
    }

    [Fact]
    public void Json_is_one_document_per_request()
    {
        var encoder = new HttpSinkEncoder(HttpSinkEncoding.Json, gzip: false, Private);
        var body = encoder.Encode([new BatchSlice(Sample(), 0, 3), new BatchSlice(Sample() with { Header = Sample().Header with { Id = Sample().Header.Id with { Window = 8 } } }, 0, 3)], out var flows, out _);
        using var document = JsonDocument.Parse(body);
        Assert.Equal(6, flows);
        Assert.Equal(6, document.RootElement.GetProperty("flows").GetArrayLength());
    }

    [Fact]
    public void Requests_hold_whole_batches_up_to_the_cap_and_split_only_a_batch_too_large_alone()
    {
        FlowBatchEnriched Of(long window, int flows) => Batch("n", "b", window, [.. Enumerable.Range(0, flows).Select(i => BareFlow("10.0.0.1", "10.0.0.2", 1))]);
        var requests = HttpSink.Cut([Of(1, 3), Of(2, 4), Of(3, 11), Of(4, 2)], 5).ToList();
        Assert.Equal(["n/b/1/1-of-1", "n/b/2/1-of-1", "n/b/3/1-of-1[0+5]", "n/b/3/1-of-1[5+5]", "n/b/3/1-of-1[10+1]", "n/b/4/1-of-1"],
            requests.SelectMany(r => r.Select(s => s.ToString())));
        Assert.Equal([1, 1, 1, 1, 1, 1], requests.Select(r => r.Count));
        var again = HttpSink.Cut([Of(1, 3), Of(2, 4), Of(3, 11), Of(4, 2)], 5).ToList();
        Assert.Equal(requests.Select(r => HttpSink.IdempotencyKey("castai", r)), again.Select(r => HttpSink.IdempotencyKey("castai", r)));
        Assert.StartsWith("castai-", HttpSink.IdempotencyKey("castai", requests[0]), StringComparison.Ordinal);
        Assert.Equal(2, HttpSink.Cut([Of(1, 2), Of(2, 2)], 5).Single().Count);
    }

    [Theory]
    [InlineData("30s", 30_000)]
    [InlineData("1m0s", 60_000)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("500ms", 500)]
    [InlineData("00:00:05", 5_000)]
    [InlineData("0", 0)]
    public void Durations_read_as_egressd_writes_them(string text, long milliseconds)
    {
        Assert.True(SinkDuration.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("5")]
    [InlineData("soon")]
    [InlineData("30 s")]
    public void Durations_without_a_unit_are_refused(string text) => Assert.False(SinkDuration.TryParse(text, out _));

    /// <summary>castai/egressd's chart, default values with an API key: what its exporter ConfigMap renders.</summary>
    internal static string ChartConfig(string apiUrl) => $"""
        podIP: 10.10.1.15
        exportInterval: 1m0s
        sinks:
          castai:
            http:
              compression: gzip
              encoding: protobuf
              headers:
                X-API-Key: {"${API_KEY}"}
              method: POST
              url: {apiUrl}/v1/kubernetes/clusters/{"${CLUSTER_ID}"}/egressd-metrics
          prom:
            prom_remote_write:
              url: http://prometheus:8428/api/v1/write
              headers:
                X-Scope-OrgID: org-id
              labels:
                label-key: label-value
        """;

    [Fact]
    public void Egressds_chart_config_file_gives_the_url_and_headers_egressd_would_send()
    {
        var file = Path.Combine(Directory.CreateTempSubdirectory("egressd-http-config-").FullName, "config.yaml");
        File.WriteAllText(file, ChartConfig("https://api.cast.ai"));
        Environment.SetEnvironmentVariable("CLUSTER_ID", "c-123");
        Environment.SetEnvironmentVariable("API_KEY", "k-secret");
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Egressd:Exporter:ConfigFile"] = file });
        builder.AddExporterConfigFile();

        var options = builder.Configuration.GetSection(HttpSinksOptions.Section).Get<HttpSinksOptions>()!;
        var errors = new List<string>();
        var settings = HttpSinkSettings.Resolve("castai", options.Sinks["castai"].Http!, options.ExportInterval, errors);

        Assert.Empty(errors);
        Assert.NotNull(settings);
        Assert.Equal(["castai"], options.HttpSinkNames());
        Assert.NotNull(options.Sinks["prom"].PromRemoteWrite);
        Assert.Equal("https://api.cast.ai/v1/kubernetes/clusters/c-123/egressd-metrics", settings.Url.ToString());
        Assert.Equal(HttpMethod.Post, settings.Method);
        Assert.True(settings.Gzip);
        Assert.Equal(HttpSinkEncoding.Protobuf, settings.Encoding);
        Assert.Equal([KeyValuePair.Create("X-API-Key", "k-secret")], settings.Headers);
        Assert.Equal(TimeSpan.FromSeconds(60), settings.Interval);
        Assert.Equal(TimeSpan.FromSeconds(30), settings.Timeout);
        Assert.Equal("egressd-exporter-http-castai", settings.Queue);
    }
}
