using Prometheus;

namespace Egressd.Shared.Kubernetes;

/// <summary>The Kubernetes caches: lists, watches and what they hold.</summary>
public sealed class KubernetesMetrics(IMetricFactory metrics)
{
    public Counter Relists { get; } = metrics.CreateCounter(
        "egressd_kubernetes_relists_total", "Full lists of a resource (the first sync, and after 410 Gone).", ["resource"]);

    public Counter WatchRestarts { get; } = metrics.CreateCounter(
        "egressd_kubernetes_watch_restarts_total", "Watches started again, by why the last one ended.", ["resource", "reason"]);

    public Counter Events { get; } = metrics.CreateCounter(
        "egressd_kubernetes_watch_events_total", "Watch events received.", ["resource", "type"]);

    public Gauge Objects { get; } = metrics.CreateGauge(
        "egressd_kubernetes_objects", "Objects of a resource held in the cache.", ["resource"]);
}
