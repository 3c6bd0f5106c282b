using Prometheus;

namespace Egressd.Collector.Flows;

/// <summary>What the flow reader saw of the conntrack table (the kernel's or Cilium's).</summary>
internal sealed class ConntrackMetrics(IMetricFactory metrics)
{
    public Gauge Entries { get; } = metrics.CreateGauge(
        "egressd_conntrack_entries", "Entries in the conntrack table at the last read.");

    public Gauge ActiveEntries { get; } = metrics.CreateGauge(
        "egressd_conntrack_entries_active", "Entries at the last read with a pod of this node at either end.");

    public Gauge TrackedEntries { get; } = metrics.CreateGauge(
        "egressd_conntrack_entries_tracked", "Entries whose last counters the collector keeps to compute deltas.");

    public Counter DestroyEvents { get; } = metrics.CreateCounter(
        "egressd_conntrack_destroy_events_total", "Conntrack destroy events applied (flows that ended, with their final counters).");

    public Counter EventOverflows { get; } = metrics.CreateCounter(
        "egressd_conntrack_event_overflows_total", "Times the destroy-event socket overflowed and events were lost.");

    public Counter SkippedEntries { get; } = metrics.CreateCounter(
        "egressd_conntrack_skipped_entries_total", "Conntrack messages skipped because they did not parse.");

    public Counter DumpRestarts { get; } = metrics.CreateCounter(
        "egressd_conntrack_dump_restarts_total", "Dumps read again because the kernel marked them interrupted or the socket overflowed.");
}
