using Prometheus;

namespace Egressd.Exporter.Sinks.Prometheus.Sharding;

/// <summary>How the Prometheus sink's shards are split (only with <c>Egressd:Exporter:Prometheus:Shards</c> above 1).</summary>
internal sealed class ShardingMetrics(IMetricFactory metrics)
{
    public Gauge ShardsHeld { get; } = metrics.CreateGauge(
        "egressd_exporter_prometheus_shards_held",
        "Prometheus sink shards this replica consumes (it counts those whose queue it is the active consumer of).");

    public Gauge Replicas { get; } = metrics.CreateGauge(
        "egressd_exporter_prometheus_replicas",
        "Exporter replicas this one has heard from recently, itself included, sharing the Prometheus sink's shards.");
}
