using Prometheus;

namespace Egressd.Exporter.Sinks;

/// <summary>
/// Every sink's consumer counts into these, labelled with the sink's name; each consumer declares
/// its sink's series when it is made, so they are on /metrics at zero before the first batch.
/// </summary>
internal sealed class SinkMetrics
{
    public SinkMetrics(IMetricFactory metrics)
    {
        Applied = metrics.CreateCounter(
            "egressd_exporter_batches_applied_total", "Enriched batches a sink applied.", ["sink"]);
        Duplicates = metrics.CreateCounter(
            "egressd_exporter_duplicates_skipped_total", "Redelivered batches a sink had already applied and dropped.", ["sink"]);
        // From the end of a batch's window (the collector's clock) to the sink having applied it
        // (the exporter's): what a reader of the sink waits for a window, queues and outages included.
        Lag = metrics.CreateHistogram(
            "egressd_exporter_sink_lag_seconds", "How long after its window ended a sink applied a batch.",
            new HistogramConfiguration { LabelNames = ["sink"], Buckets = [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600] });
    }

    public Counter Applied { get; }

    public Counter Duplicates { get; }

    public Histogram Lag { get; }

    /// <summary>Puts a sink's series on /metrics at zero, so a dashboard sees the sink before its first batch.</summary>
    public void Declare(string sink)
    {
        Applied.WithLabels(sink);
        Duplicates.WithLabels(sink);
        Lag.WithLabels(sink);
    }
}
