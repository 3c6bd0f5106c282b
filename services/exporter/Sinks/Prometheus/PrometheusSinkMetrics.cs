using Prometheus;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>The Prometheus sink's own metrics (prometheus-net; the flow series are not among them).</summary>
internal static class PrometheusSinkMetrics
{
    public static readonly Gauge LiveSeries = Metrics.CreateGauge(
        "egressd_exporter_series",
        "Live flow series (label sets) in the Prometheus sink; each is exposed as four counters.");

    public static readonly Counter FlowsApplied = Metrics.CreateCounter(
        "egressd_exporter_flows_applied_total", "Flows added to the Prometheus sink's counters.");

    public static readonly Counter SeriesRefused = Metrics.CreateCounter(
        "egressd_exporter_series_refused_total",
        "Flows not counted because their series would exceed Egressd:Exporter:Prometheus:MaxSeries.");

    public static readonly Counter SeriesExpired = Metrics.CreateCounter(
        "egressd_exporter_series_expired_total",
        "Flow series removed after Egressd:Exporter:Prometheus:IdleTimeout without a flow.");

    public static readonly Counter LabelValuesTruncated = Metrics.CreateCounter(
        "egressd_exporter_label_values_truncated_total",
        "Flow label values longer than 253 characters (the longest Kubernetes or DNS name), cut to 253 before they became a series label.",
        "label");

    public static void Record(FlowSeriesStore.ApplyResult result)
    {
        FlowsApplied.Inc(result.Applied);
        if (result.Created > 0)
        {
            LiveSeries.Inc(result.Created);
        }

        if (result.Refused > 0)
        {
            SeriesRefused.Inc(result.Refused);
        }
    }
}
