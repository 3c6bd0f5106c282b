using Prometheus;

namespace Egressd.Exporter.Sinks.Prometheus.Sharding;

/// <summary>How the Prometheus sink's shards are split (only with <c>Egressd:Exporter:Prometheus:Shards</c> above 1).</summary>
internal static class ShardingMetrics
{
    public static readonly Gauge ShardsHeld = Metrics.CreateGauge(
        "egressd_exporter_prometheus_shards_held",
        "Prometheus sink shards this replica consumes (it counts those whose queue it is the active consumer of).");

    public static readonly Gauge Replicas = Metrics.CreateGauge(
        "egressd_exporter_prometheus_replicas",
        "Exporter replicas this one has heard from recently, itself included, sharing the Prometheus sink's shards.");
}
