using Prometheus;

namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>The flow log's own counters, on /metrics at zero from the start when the flow log is on.</summary>
public sealed class FlowLogMetrics(IMetricFactory metrics)
{
    public Counter LinesWritten { get; } = metrics.CreateCounter(
        "egressd_exporter_flow_log_lines_written_total", "Flow lines the flow log wrote (one per flow).");

    public Counter BytesWritten { get; } = metrics.CreateCounter(
        "egressd_exporter_flow_log_bytes_written_total", "Bytes the flow log wrote.");

    public Counter BatchesSkipped { get; } = metrics.CreateCounter(
        "egressd_exporter_flow_log_batches_skipped_total",
        "Redelivered batches not written again because the flow log already held them when the exporter started.");

    public Counter TornBytesCut { get; } = metrics.CreateCounter(
        "egressd_exporter_flow_log_torn_bytes_cut_total",
        "Bytes of a torn last batch (a write cut short by a crash) removed from the flow log at start; the batch is written again when redelivered.");

    public Counter Rotations { get; } = metrics.CreateCounter(
        "egressd_exporter_flow_log_rotations_total", "Times the flow-log file reached its size limit and was rotated.");
}
