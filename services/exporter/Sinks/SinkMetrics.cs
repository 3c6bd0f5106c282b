using Prometheus;

namespace Egressd.Exporter.Sinks;

/// <summary>Every sink's consumer counts into these, labelled with the sink's name.</summary>
internal static class SinkMetrics
{
    public static readonly Counter Applied = Metrics.CreateCounter(
        "egressd_exporter_batches_applied_total", "Enriched batches a sink applied.", "sink");

    public static readonly Counter Duplicates = Metrics.CreateCounter(
        "egressd_exporter_duplicates_skipped_total", "Redelivered batches a sink had already applied and dropped.", "sink");

    /// <summary>Puts a sink's series on /metrics at zero, so a dashboard sees the sink before its first batch.</summary>
    public static void Declare(string sink)
    {
        Applied.WithLabels(sink);
        Duplicates.WithLabels(sink);
    }
}
