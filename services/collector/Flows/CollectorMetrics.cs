using Prometheus;

namespace Egressd.Collector.Flows;

/// <summary>The collector's read and publish cycle, as seen on <c>/metrics</c>.</summary>
public sealed class CollectorMetrics(IMetricFactory metrics)
{
    public Counter WindowsPublished { get; } = metrics.CreateCounter(
        "egressd_collector_windows_published_total", "Windows whose every part the broker confirmed.");

    public Counter PartsPublished { get; } = metrics.CreateCounter(
        "egressd_collector_batches_published_total", "Batch parts the broker confirmed.");

    public Counter PublishFailures { get; } = metrics.CreateCounter(
        "egressd_collector_publish_failures_total", "Publishes that failed or timed out; the part is re-sent at the next read.");

    public Counter ReadFailures { get; } = metrics.CreateCounter(
        "egressd_collector_read_failures_total", "Reads of connection tracking that failed.");

    public Gauge PendingKeys { get; } = metrics.CreateGauge(
        "egressd_collector_pending_keys", "Flow keys read but not yet confirmed by the broker.");

    public Counter FoldedDeltas { get; } = metrics.CreateCounter(
        "egressd_collector_folded_deltas_total",
        "Deltas of new flow keys summed into a grouped key (destination network, then any destination) because Egressd:Collector:MaxPendingKeys keys were pending: bytes kept, detail lost.");

    public Counter FoldedBytes { get; } = metrics.CreateCounter(
        "egressd_collector_folded_bytes_total", "Bytes (both directions) of the deltas summed into a grouped key.");

    public Counter RestartUncountedBytes { get; } = metrics.CreateCounter(
        "egressd_collector_restart_uncounted_bytes_total",
        "Bytes that connections open before a start without a usable checkpoint had carried: taken as a baseline, not counted (a bounded loss instead of a double count).");

    public Gauge CheckpointEntries { get; } = metrics.CreateGauge(
        "egressd_collector_checkpoint_entries", "Entries in the last restart checkpoint written.");

    public Counter CheckpointFailures { get; } = metrics.CreateCounter(
        "egressd_collector_checkpoint_failures_total", "Restart checkpoint writes that failed.");

    public Histogram CheckpointSaveSeconds { get; } = metrics.CreateHistogram(
        "egressd_collector_checkpoint_write_duration_seconds", "Time to write the restart checkpoint once (temporary file, fsync, rename).",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });

    public Histogram ReadDuration { get; } = metrics.CreateHistogram(
        "egressd_collector_read_duration_seconds", "Time to read connection tracking once.",
        new HistogramConfiguration { Buckets = Histogram.ExponentialBuckets(0.001, 2, 14) });
}
