using Prometheus;

namespace Egressd.Exporter.Sinks.FlowLog;

internal static class FlowLogMetrics
{
    public static readonly Counter LinesWritten = Metrics.CreateCounter(
        "egressd_exporter_flow_log_lines_written_total", "Flow lines the flow log wrote (one per flow).");

    public static readonly Counter BytesWritten = Metrics.CreateCounter(
        "egressd_exporter_flow_log_bytes_written_total", "Bytes the flow log wrote.");

    public static readonly Counter BatchesSkipped = Metrics.CreateCounter(
        "egressd_exporter_flow_log_batches_skipped_total",
        "Redelivered batches not written again because the flow log already held them when the exporter started.");

    public static readonly Counter TornBytesCut = Metrics.CreateCounter(
        "egressd_exporter_flow_log_torn_bytes_cut_total",
        "Bytes of a torn last batch (a write cut short by a crash) removed from the flow log at start; the batch is written again when redelivered.");

    public static readonly Counter Rotations = Metrics.CreateCounter(
        "egressd_exporter_flow_log_rotations_total", "Times the flow-log file reached its size limit and was rotated.");
}
