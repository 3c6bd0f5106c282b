using Prometheus;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>The Prometheus sink's own metrics (prometheus-net; the flow series are not among them).</summary>
internal sealed class PrometheusSinkMetrics(IMetricFactory metrics)
{
    public Gauge LiveSeries { get; } = metrics.CreateGauge(
        "egressd_exporter_series",
        "Live flow series (label sets) in the Prometheus sink; each is exposed as four counters.");

    public Counter FlowsApplied { get; } = metrics.CreateCounter(
        "egressd_exporter_flows_applied_total", "Flows added to the Prometheus sink's counters.");

    public Counter SeriesRefused { get; } = metrics.CreateCounter(
        "egressd_exporter_series_refused_total",
        "Flows not counted because their series would exceed Egressd:Exporter:Prometheus:MaxSeries.");

    public Counter SeriesExpired { get; } = metrics.CreateCounter(
        "egressd_exporter_series_expired_total",
        "Flow series removed after Egressd:Exporter:Prometheus:IdleTimeout without a flow.");

    /// <summary>By flow label: every label's series is there, at zero, until a value of it is cut.</summary>
    public IReadOnlyDictionary<string, Counter.Child> LabelValuesTruncated { get; } = PerLabel(metrics.CreateCounter(
        "egressd_exporter_label_values_truncated_total",
        "Flow label values longer than 253 characters (the longest Kubernetes or DNS name), cut to 253 before they became a series label.",
        ["label"]));

    /// <summary>An applied batch, and the store's live series after it.</summary>
    public void Record(FlowSeriesStore.ApplyResult result, int liveSeries)
    {
        FlowsApplied.Inc(result.Applied);
        LiveSeries.Set(liveSeries);
        if (result.Refused > 0)
        {
            SeriesRefused.Inc(result.Refused);
        }
    }

    private static Dictionary<string, Counter.Child> PerLabel(Counter counter) =>
        FlowLabels.All.Keys.Order(StringComparer.Ordinal).ToDictionary(name => name, name => counter.WithLabels(name), StringComparer.Ordinal);
}
