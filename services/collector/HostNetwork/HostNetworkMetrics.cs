using Prometheus;

namespace Egressd.Collector.HostNetwork;

/// <summary>How much of the node addresses' traffic was attributed, as seen on <c>/metrics</c>.</summary>
public sealed class HostNetworkMetrics(IMetricFactory metrics)
{
    public Counter Bytes { get; } = metrics.CreateCounter(
        "egressd_collector_host_network_bytes_total",
        "Bytes (both directions) of flows whose local end is a node address, by how they were attributed: pod (a hostNetwork pod's socket), node (a process outside pods) or unresolved (no socket found: the node's).",
        new CounterConfiguration { LabelNames = ["outcome"] });

    public Gauge Sockets { get; } = metrics.CreateGauge(
        "egressd_collector_host_network_sockets", "TCP and UDP sockets of the node's namespace the last read listed.");

    public Histogram RefreshSeconds { get; } = metrics.CreateHistogram(
        "egressd_collector_host_network_refresh_duration_seconds", "Time to list the node's sockets once (socket diagnostics dump).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.0005, 2, 14) });
}
