using System.IO.Pipelines;
using System.Text;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Shared.Network;
using Egressd.Tests.Infrastructure;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

public sealed class FlowExpositionTests
{
    private static readonly FlowLabelContext Context = new(new NetworkOptions().PublicAddresses());

    private static async Task<string> RenderAsync(FlowSeriesStore store, Dictionary<string, string>? staticLabels = null)
    {
        using var output = new MemoryStream();
        var writer = PipeWriter.Create(output);
        await new FlowExposition(store, staticLabels ?? []).WriteAsync(writer, TestContext.Current.CancellationToken);
        await writer.CompleteAsync();
        return Encoding.UTF8.GetString(output.ToArray());
    }

    [Fact]
    public async Task Exposition_has_egressd_names_and_labels_with_static_ones_sorted_in_and_promtool_accepts_it()
    {
        var store = new FlowSeriesStore(FlowLabels.PodLevel, Context, 100, TimeSpan.FromMinutes(1), TimeProvider.System, TestMetrics.PrometheusSink());
        store.Apply([PodFlow("shop", "web-1", "db", "db-0", txBytes: 100, rxBytes: 200, txPackets: 3, rxPackets: 4)]);

        var text = await RenderAsync(store, new() { ["cluster"] = "prod-1", ["Aa_team"] = "net" });

        var (code, said) = Exposition.Promtool(text);
        Assert.True(code == 0, $"promtool check metrics: {said}\n{text}");
        Assert.Equal(
            """egressd_transmit_bytes_total{Aa_team="net",cluster="prod-1",cross_zone="true",dst_ip="10.244.2.20",dst_ip_type="private",dst_namespace="db",dst_node="node-b",dst_pod="db-0",dst_zone="zone-b",proto="TCP",src_ip="10.244.1.10",src_namespace="shop",src_node="node-a",src_pod="web-1",src_zone="zone-a"} 100""",
            text.Split('\n').Single(l => l.StartsWith("egressd_transmit_bytes_total{", StringComparison.Ordinal)));
        Assert.Contains("# TYPE egressd_transmit_bytes_total counter\n", text, StringComparison.Ordinal);
        Assert.Equal(200, Exposition.Value(text, "egressd_received_bytes_total"));
        Assert.Equal(3, Exposition.Value(text, "egressd_transmit_packets_total"));
        Assert.Equal(4, Exposition.Value(text, "egressd_received_packets_total"));
    }

    [Fact]
    public async Task Combined_counters_get_series_and_families_of_their_own_and_expire_like_others()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider();
        var store = new FlowSeriesStore(FlowLabels.PodLevel, Context, 100, TimeSpan.FromMinutes(1), time, TestMetrics.PrometheusSink());
        var flow = PodFlow("shop", "web-1", "db", "db-0", txBytes: 100, rxBytes: 200, txPackets: 3, rxPackets: 4);
        store.Apply([flow]);
        var separateOnly = await RenderAsync(store);
        Assert.DoesNotContain("combined", separateOnly, StringComparison.Ordinal);

        // The same labels from a source with combined counters (opened and accepted connections).
        store.Apply([flow with { Flow = flow.Flow with { TxBytes = 700, RxBytes = 0, TxPackets = 7, RxPackets = 0 } }], Egressd.Contracts.FlowCounterDirections.Combined);
        store.Apply([flow with { Flow = flow.Flow with { TxBytes = 0, RxBytes = 50, TxPackets = 0, RxPackets = 1 } }], Egressd.Contracts.FlowCounterDirections.Combined);
        Assert.Equal((2, 1), (store.Count, store.CombinedCount));
        var text = await RenderAsync(store);

        var (code, said) = Exposition.Promtool(text);
        Assert.True(code == 0, $"promtool check metrics: {said}\n{text}");
        // The directional families are what they were; the combined totals are in their own.
        Assert.Equal(separateOnly, text[..separateOnly.Length]);
        Assert.Equal(100, Exposition.Value(text, "egressd_transmit_bytes_total"));
        Assert.Equal(750, Exposition.Value(text, "egressd_combined_bytes_total"));
        Assert.Equal(8, Exposition.Value(text, "egressd_combined_packets_total"));

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(2, store.RemoveIdle());
        Assert.Equal((0, 0), (store.Count, store.CombinedCount));
    }

    [Fact]
    public async Task Label_values_are_escaped_and_an_empty_store_writes_nothing()
    {
        var store = new FlowSeriesStore(["dst_dns_name", "src_pod"], Context, 100, TimeSpan.FromMinutes(1), TimeProvider.System, TestMetrics.PrometheusSink());
        Assert.Equal("", await RenderAsync(store));

        store.Apply([PodFlow("shop", "we\"b\\1", "db", "db-0", txBytes: 5) with { DestinationDnsName = "a\nb" }]);
        var text = await RenderAsync(store);

        Assert.Contains("""egressd_transmit_bytes_total{dst_dns_name="a\nb",src_pod="we\"b\\1"} 5""", text, StringComparison.Ordinal);
        var (code, said) = Exposition.Promtool(text);
        Assert.True(code == 0, said);
    }

    [Fact]
    public async Task Many_series_span_many_chunks_each_exactly_once()
    {
        var store = new FlowSeriesStore(FlowLabels.PodLevel, Context, 100_000, TimeSpan.FromMinutes(1), TimeProvider.System, TestMetrics.PrometheusSink());
        const int Series = 30_000;
        store.Apply([.. Enumerable.Range(0, Series).Select(i => PodFlow("shop", $"web-{i}", "db", "db-0", txBytes: (ulong)i + 1, sourceIp: $"10.1.{i / 250}.{i % 250}"))]);

        var text = await RenderAsync(store);

        var samples = Exposition.Samples(text, "egressd_transmit_bytes_total");
        Assert.Equal(Series, samples.Count);
        Assert.Equal(Series, samples.Select(s => s.Labels["src_pod"]).Distinct().Count());
        Assert.Equal((double)Series * (Series + 1) / 2, samples.Sum(s => s.Value));
        Assert.Equal(4, text.Split('\n').Count(l => l.StartsWith("# TYPE", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_line_longer_than_the_write_buffer_is_still_written_whole()
    {
        var store = new FlowSeriesStore(["dst_dns_name"], Context, 100, TimeSpan.FromMinutes(1), TimeProvider.System, TestMetrics.PrometheusSink());
        // A flow label is cut where it enters the store; a static label (the operator's) is not.
        var name = new string('x', 600_000);
        var cluster = new string('c', 600_000);
        store.Apply([PodFlow("shop", "web-1", "db", "db-0", txBytes: 9) with { DestinationDnsName = name }]);

        var text = await RenderAsync(store, new() { ["cluster"] = cluster });

        Assert.Contains($"egressd_transmit_bytes_total{{cluster=\"{cluster}\",dst_dns_name=\"{name[..FlowLabels.MaxValueLength]}\"}} 9\n", text, StringComparison.Ordinal);
    }
}
