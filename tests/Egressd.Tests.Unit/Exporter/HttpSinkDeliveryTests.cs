using Egressd.Contracts;
using Egressd.Tests.Exporter.EgressdPb;
using Egressd.Tests.Infrastructure;
using MassTransit;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary>The HTTP sink in an exporter on the in-memory bus, against a real Kestrel receiver on loopback.</summary>
public sealed class HttpSinkDeliveryTests
{
    private const string Secret = "hdr-value-never-logged-5d1f";

    private static Dictionary<string, string?> Sink(WebhookReceiver receiver, string name = "hook", params (string Key, string Value)[] more)
    {
        var prefix = $"Egressd:Exporter:Sinks:{name}:http:";
        var settings = new Dictionary<string, string?>
        {
            ["Egressd:Exporter:Prometheus:Enabled"] = "false",
            [prefix + "url"] = receiver.BaseAddress + "in?tenant=t1",
            [prefix + "interval"] = "0",
            [prefix + "retry:initialDelay"] = "100ms",
            [prefix + "retry:maxDelay"] = "1s",
        };
        foreach (var (key, value) in more)
        {
            settings[key.StartsWith("Egressd:", StringComparison.Ordinal) ? key : prefix + key] = value;
        }

        return settings;
    }

    private static FlowBatchEnriched Window(string boot, long window, DateTimeOffset end, int flows, ulong bytes = 10)
    {
        var batch = Batch("node-a", boot, window, [.. Enumerable.Range(0, flows).Select(i => PodFlow("shop", $"web-{i}", "db", "db-0", txBytes: bytes))]);
        return batch with { Header = batch.Header with { WindowStart = end.AddSeconds(-5), WindowEnd = end } };
    }

    private static long TxBytes(WebhookReceiver receiver) =>
        receiver.Applied.Values.Sum(r => PodNetworkMetricBatch.Parser.ParseFrom(r.Body).Items.Sum(i => i.TxBytes));

    [Fact]
    public async Task Egressds_chart_config_sends_gzip_protobuf_with_its_url_and_headers()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var directory = Directory.CreateTempSubdirectory("egressd-http-chart-").FullName;
        var file = Path.Combine(directory, "config.yaml");
        await File.WriteAllTextAsync(file, HttpSinkEncodingTests.ChartConfig(receiver.BaseAddress.ToString().TrimEnd('/')), TestContext.Current.CancellationToken);
        Environment.SetEnvironmentVariable("CLUSTER_ID", "c-123");
        Environment.SetEnvironmentVariable("API_KEY", "k-secret");
        await using var exporter = await InMemoryExporter.StartAsync(new Dictionary<string, string?>()
        {
            ["Egressd:Exporter:ConfigFile"] = file,
            ["Egressd:Exporter:Prometheus:Enabled"] = "false",
            // egressd's 60 s, shortened for the test through the same keys as an environment variable would.
            ["Egressd:Exporter:Sinks:castai:http:interval"] = "1s",
        });
        var bus = exporter.Services.GetRequiredService<IBus>();
        var end = DateTimeOffset.UtcNow;
        await bus.PublishAsync(Window("b1", 1, end, 3, bytes: 100));
        await bus.PublishAsync(Window("b2", 1, end, 2, bytes: 1000));

        Assert.True(await Eventually.TrueAsync(() => TxBytes(receiver) == 2300, TimeSpan.FromSeconds(30)), $"{receiver.Requests.Count} requests");
        var request = Assert.Single(receiver.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal("/v1/kubernetes/clusters/c-123/egressd-metrics", request.PathAndQuery);
        Assert.Equal("k-secret", request.Headers["X-API-Key"]);
        Assert.Equal("application/protobuf", request.Headers["Content-Type"]);
        Assert.Equal("gzip", request.Headers["Content-Encoding"]);
        Assert.Matches(@"^castai-egressd/\d+\.\d+\.\d+", request.Headers["User-Agent"]);
        Assert.StartsWith("castai-", request.Key, StringComparison.Ordinal);
        Assert.True(request.Raw.Length < request.Body.Length, "the body was not compressed");
        var items = PodNetworkMetricBatch.Parser.ParseFrom(request.Body).Items;
        Assert.Equal(5, items.Count);
        Assert.All(items, i => Assert.Equal("shop", i.SrcNamespace));
    }

    [Fact]
    public async Task Ndjson_per_bus_batch_keeps_the_url_query_and_every_line_parses()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var exporter = await InMemoryExporter.StartAsync(Sink(receiver, more: [("encoding", "ndjson"), ("compression", "gzip"), ("method", "put")]));
        await exporter.Services.GetRequiredService<IBus>().PublishAsync(Window("b", 1, DateTimeOffset.UtcNow, 4));

        Assert.True(await Eventually.TrueAsync(() => receiver.Applied.Count == 1, TimeSpan.FromSeconds(30)));
        var request = receiver.Requests.Single();
        Assert.Equal("PUT", request.Method);
        Assert.Equal("/in?tenant=t1", request.PathAndQuery);
        Assert.Equal("application/x-ndjson", request.Headers["Content-Type"]);
        var lines = System.Text.Encoding.UTF8.GetString(request.Body).TrimEnd('\n').Split('\n');
        Assert.Equal(4, lines.Length);
        Assert.All(lines, l => Assert.Equal("shop", System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("src_namespace").GetString()));
    }

    [Fact]
    public async Task A_429_with_Retry_After_2_is_retried_no_sooner_than_2_seconds_later_with_the_same_key()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Script = r => receiver.Requests.Count == 1 ? new WebhookReceiver.Answer(429, RetryAfterSeconds: 2) : new WebhookReceiver.Answer(204);
        await using var exporter = await InMemoryExporter.StartAsync(Sink(receiver));
        await exporter.Services.GetRequiredService<IBus>().PublishAsync(Window("b", 1, DateTimeOffset.UtcNow, 2));

        Assert.True(await Eventually.TrueAsync(() => receiver.Applied.Count == 1, TimeSpan.FromSeconds(30)));
        var requests = receiver.Requests.ToList();
        Assert.Equal(2, requests.Count);
        // Two seconds as the receiver's clock sees them; a timer may fire a few milliseconds early
        // against the wall clock, so that much is allowed (an immediate or backoff-only retry is far below).
        Assert.True(requests[1].At - requests[0].At >= TimeSpan.FromSeconds(2) - TimeSpan.FromMilliseconds(20), $"retried after {requests[1].At - requests[0].At}");
        Assert.Equal(requests[0].Key, requests[1].Key);
    }

    [Fact]
    public async Task A_receiver_slower_than_the_timeout_is_tried_again()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Script = r => receiver.Requests.Count == 1 ? new WebhookReceiver.Answer(200, Delay: TimeSpan.FromSeconds(5)) : new WebhookReceiver.Answer(200);
        await using var exporter = await InMemoryExporter.StartAsync(Sink(receiver, more: ("timeout", "500ms")));
        await exporter.Services.GetRequiredService<IBus>().PublishAsync(Window("b", 1, DateTimeOffset.UtcNow, 2, bytes: 7));

        Assert.True(await Eventually.TrueAsync(() => receiver.Applied.Count == 1, TimeSpan.FromSeconds(30)));
        Assert.True(receiver.Requests.Count >= 2);
        Assert.Single(receiver.Requests.Select(r => r.Key).Distinct());
        Assert.Equal(14, TxBytes(receiver));
    }

    [Fact]
    public async Task Header_values_from_the_environment_never_reach_the_logs()
    {
        Environment.SetEnvironmentVariable("EGRESSD_TEST_HTTP_TOKEN", Secret);
        await using var receiver = await WebhookReceiver.StartAsync();
        // A retry, then a rejection that is parked: every log line the sink has.
        receiver.Script = r => receiver.Requests.Count switch
        {
            1 => new WebhookReceiver.Answer(503),
            2 => new WebhookReceiver.Answer(400, Body: "bad batch"),
            _ => new WebhookReceiver.Answer(200),
        };
        var logs = new CapturedLogs();
        await using (var exporter = await InMemoryExporter.StartAsync(Sink(receiver, more: [("headers:Authorization", "Bearer ${EGRESSD_TEST_HTTP_TOKEN}"), ("url", receiver.BaseAddress + "t/${EGRESSD_TEST_HTTP_TOKEN}")]), logs))
        {
            await exporter.Services.GetRequiredService<IBus>().PublishAsync(Window("b", 1, DateTimeOffset.UtcNow, 1));
            Assert.True(await Eventually.TrueAsync(() => logs.Lines.Any(l => l.Contains("[3402]", StringComparison.Ordinal)), TimeSpan.FromSeconds(30)), logs.All);
        }

        Assert.All(receiver.Requests, r => Assert.Equal("Bearer " + Secret, r.Headers["Authorization"]));
        Assert.Contains(logs.Lines, l => l.Contains("[3408]", StringComparison.Ordinal) && l.Contains("503", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("bad batch", StringComparison.Ordinal));
        Assert.DoesNotContain(Secret, logs.All, StringComparison.Ordinal);
    }
}
