using Prometheus;

namespace Egressd.Exporter.Sinks.Http;

/// <summary>Every HTTP sink counts into these, labelled with the sink's name.</summary>
internal sealed class HttpSinkMetrics(IMetricFactory metrics)
{
    public Counter Requests { get; } = metrics.CreateCounter(
        "egressd_exporter_http_requests_total", "Requests the receiver accepted (2xx).", ["sink"]);

    public Counter Flows { get; } = metrics.CreateCounter(
        "egressd_exporter_http_flows_sent_total", "Flows in requests the receiver accepted.", ["sink"]);

    public Counter Bytes { get; } = metrics.CreateCounter(
        "egressd_exporter_http_bytes_sent_total", "Body bytes (as sent, compressed or not) of requests the receiver accepted.", ["sink"]);

    public Counter Dropped { get; } = metrics.CreateCounter(
        "egressd_exporter_http_flows_dropped_total",
        "Flows egressd's protobuf schema has no place for (the source is not a pod), left out of protobuf requests.", ["sink"]);

    public Counter Failures { get; } = metrics.CreateCounter(
        "egressd_exporter_http_failures_total",
        "Attempts that failed, by class: 3xx, 4xx, 5xx, timeout, transport, circuit-open.", ["sink", "class"]);

    public Counter Retries { get; } = metrics.CreateCounter(
        "egressd_exporter_http_retries_total", "Attempts retried after a transport error, a timeout, 408, 429 or a 5xx.", ["sink"]);

    public Counter Parked { get; } = metrics.CreateCounter(
        "egressd_exporter_http_batches_parked_total",
        "Bus batches parked in the sink's _error queue: rejected (a 4xx or a redirect) or undeliverable (still failing after retry:maxTime).", ["sink", "reason"]);

    public Gauge Pending { get; } = metrics.CreateGauge(
        "egressd_exporter_http_pending_batches", "Bus batches held, not yet acknowledged, until their interval's request is accepted.", ["sink"]);

    public Histogram PushSeconds { get; } = metrics.CreateHistogram(
        "egressd_exporter_http_push_seconds", "Time from a request's first attempt to its outcome, retries included.",
        new HistogramConfiguration
        {
            LabelNames = ["sink", "outcome"],
            Buckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
        });

    /// <summary>
    /// Puts a sink's series on /metrics at zero, so a dashboard sees the sink before its first
    /// request; failures and parked batches appear with their first class or reason.
    /// </summary>
    public void Declare(string sink)
    {
        Requests.WithLabels(sink);
        Flows.WithLabels(sink);
        Bytes.WithLabels(sink);
        Retries.WithLabels(sink);
        Dropped.WithLabels(sink);
        Pending.WithLabels(sink);
    }
}
