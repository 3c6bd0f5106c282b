using Prometheus;

namespace Egressd.Exporter.Sinks.Prometheus.RemoteWrite;

internal sealed class RemoteWriteMetrics(IMetricFactory metrics)
{
    public Counter Pushes { get; } = metrics.CreateCounter(
        "egressd_exporter_remote_write_pushes_total", "Remote-write requests the receiver accepted.");

    public Counter Failures { get; } = metrics.CreateCounter(
        "egressd_exporter_remote_write_failures_total",
        "Remote-write requests that failed for good (a 4xx, or still failing after the retries); the next push sends the counters again.");

    public Counter Retries { get; } = metrics.CreateCounter(
        "egressd_exporter_remote_write_retries_total", "Remote-write requests retried after a 5xx, 408, 429 or transport error.");

    public Counter Samples { get; } = metrics.CreateCounter(
        "egressd_exporter_remote_write_samples_total", "Samples in remote-write requests the receiver accepted.");
}
