using Prometheus;

namespace Egressd.Exporter.Sinks;

/// <summary>Every sink's consumer counts into these, labelled with the sink's name.</summary>
internal static class SinkMetrics
{
    public static readonly Counter Applied = Metrics.CreateCounter(
        "egressd_exporter_batches_applied_total", "Enriched batches a sink applied.", "sink");

    public static readonly Counter Duplicates = Metrics.CreateCounter(
        "egressd_exporter_duplicates_skipped_total", "Redelivered batches a sink had already applied and dropped.", "sink");

    /// <summary>
    /// From the end of a batch's window (the collector's clock) to the sink having applied it
    /// (the exporter's): what a reader of the sink waits for a window, queues and outages included.
    /// </summary>
    public static readonly Histogram Lag = Metrics.CreateHistogram(
        "egressd_exporter_sink_lag_seconds", "How long after its window ended a sink applied a batch.",
        new HistogramConfiguration { LabelNames = ["sink"], Buckets = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600] });

    /// <summary>Puts a sink's series on /metrics at zero, so a dashboard sees the sink before its first batch.</summary>
    public static void Declare(string sink)
    {
        Applied.WithLabels(sink);
        Duplicates.WithLabels(sink);
        Lag.WithLabels(sink);
    }
}
