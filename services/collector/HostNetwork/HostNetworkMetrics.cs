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

    public Counter NewConnections { get; } = metrics.CreateCounter(
        "egressd_collector_host_network_new_connections_total",
        "New conntrack entries from a node address whose socket was looked up at once, by what the lookup found: cgroup (remembered for the next reads) or gone (closed already, shorter than the event's latency).",
        new CounterConfiguration { LabelNames = ["outcome"] });

    public Counter NewEventOverflows { get; } = metrics.CreateCounter(
        "egressd_collector_host_network_new_event_overflows_total", "Times conntrack's new-entry events overflowed their socket buffer and were lost.");

    public Counter RememberedDropped { get; } = metrics.CreateCounter(
        "egressd_collector_host_network_remembered_dropped_total",
        "New node-address connections whose cgroup was found but not remembered: Egressd:Collector:MaxNewHostConnections was reached.");

    public Gauge Remembered { get; } = metrics.CreateGauge(
        "egressd_collector_host_network_remembered_connections", "New node-address connections whose cgroup is remembered for the next reads.");
}
