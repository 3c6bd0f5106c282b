using System.IO.Pipelines;
using System.Text;
using Egressd.Contracts;
using Egressd.Exporter.Sinks.Prometheus;
using Egressd.Exporter.Sinks.Prometheus.Cost;
using Egressd.Shared.Network;
using Egressd.Tests.Infrastructure;
using Egressd.Tests.Samples;
using static Egressd.Tests.Infrastructure.EnrichedBatches;

namespace Egressd.Tests.Exporter;

/// <summary><c>egressd_transfer_cost_usd_total</c>: exact sums of the flows' costs, few labels by default, the flow series' label settings applied, promtool-clean.</summary>
public sealed class CostExpositionTests
{
    private static readonly FlowLabelContext Context = new(new NetworkOptions().PublicAddresses());

    private static async Task<string> RenderAsync(CostSeriesStore store, Dictionary<string, string>? staticLabels = null)
    {
        using var output = new MemoryStream();
        var writer = PipeWriter.Create(output);
        await new CostExposition(store, staticLabels ?? []).WriteAsync(writer, TestContext.Current.CancellationToken);
        await writer.CompleteAsync();
        return Encoding.UTF8.GetString(output.ToArray());
    }

    private static CostSeriesStore Store(PrometheusOptions options) =>
        new(CostLabels.Resolve(options), Context, 100, TimeSpan.FromMinutes(10), TimeProvider.System, TestMetrics.PrometheusSink());

    private static FlowRow Priced(FlowRow row, long egress, long ingress = 0, long nat = 0) =>
        row with { Cost = new FlowCharges { Egress = egress, Ingress = ingress, Nat = nat } };

    [Fact]
    public async Task Cost_counters_sum_every_flows_pico_dollars_by_namespace_workload_class_and_charge_and_promtool_accepts_them()
    {
        var store = Store(new PrometheusOptions());
        // Two pods of one workload: one series. 1 GB cross-zone each way at $0.01/GB = $0.01 + $0.01.
        store.Apply(EnrichedRows.Batch([
            Priced(PodFlow("shop", "web-1", "db", "db-0", txBytes: 600_000_000, rxBytes: 1_000_000_000), 6_000_000_000, 10_000_000_000),
            Priced(PodFlow("shop", "web-2", "db", "db-0", txBytes: 400_000_000, sourceIp: "10.244.1.11"), 4_000_000_000),
            Priced(PodFlow("shop", "web-1", "", "", txBytes: 3, rxBytes: 7, destinationIp: "198.18.0.9", trafficClass: TrafficClass.Internet), 270, 0, 450),
            PodFlow("shop", "web-1", "shop", "web-2", txBytes: 5, trafficClass: TrafficClass.SameZone),
        ]));

        var text = await RenderAsync(store, new() { ["cluster"] = "prod-1" });
        Assert.Contains("# TYPE egressd_transfer_cost_usd_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("""egressd_transfer_cost_usd_total{charge="egress",cluster="prod-1",src_namespace="shop",src_workload="web",traffic_class="cross-zone"} 0.01""" + "\n", text, StringComparison.Ordinal);
        Assert.Contains("""egressd_transfer_cost_usd_total{charge="ingress",cluster="prod-1",src_namespace="shop",src_workload="web",traffic_class="cross-zone"} 0.01""" + "\n", text, StringComparison.Ordinal);
        Assert.Contains("""egressd_transfer_cost_usd_total{charge="egress",cluster="prod-1",src_namespace="shop",src_workload="web",traffic_class="internet"} 0.00000000027""" + "\n", text, StringComparison.Ordinal);
        Assert.Contains("""egressd_transfer_cost_usd_total{charge="nat",cluster="prod-1",src_namespace="shop",src_workload="web",traffic_class="internet"} 0.00000000045""" + "\n", text, StringComparison.Ordinal);
        // Free traffic makes no series; a charge that never applied is not shown as zero.
        Assert.DoesNotContain("same-zone", text, StringComparison.Ordinal);
        Assert.Equal(4, Exposition.Samples(text, CostExposition.Name).Count);
        var (code, output) = Exposition.Promtool(text);
        Assert.True(code == 0, output);
    }

    [Fact]
    public async Task The_flow_series_label_settings_shape_the_cost_series_too()
    {
        FlowRow[] rows = [Priced(PodFlow("shop", "web-1", "", "", txBytes: 3, destinationIp: "198.18.0.9", trafficClass: TrafficClass.Internet) with { DestinationDnsName = "api.example.com" }, 270)];
        var byNamespace = Store(new PrometheusOptions { Level = LabelLevel.Namespace });
        byNamespace.Apply(EnrichedRows.Batch(rows));
        Assert.Equal(["src_namespace", "traffic_class"], byNamespace.LabelNames);

        var withNames = Store(new PrometheusOptions { AddLabels = "dst_dns_name", DropLabels = "src_workload" });
        withNames.Apply(EnrichedRows.Batch(rows));
        var text = await RenderAsync(withNames);
        Assert.Contains("""egressd_transfer_cost_usd_total{charge="egress",dst_dns_name="api.example.com",src_namespace="shop",traffic_class="internet"} 0.00000000027""", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_is_served_when_no_flow_cost_anything()
    {
        var store = Store(new PrometheusOptions());
        store.Apply(EnrichedRows.Batch([PodFlow("shop", "web-1", "db", "db-0", txBytes: 100)]));
        Assert.Equal("", await RenderAsync(store));
    }
}
