using Prometheus;

namespace Egressd.Shared.Kubernetes;

/// <summary>The Kubernetes caches: lists, watches and what they hold.</summary>
internal static class KubernetesMetrics
{
    public static readonly Counter Relists = Metrics.CreateCounter(
        "egressd_kubernetes_relists_total", "Full lists of a resource (the first sync, and after 410 Gone).", "resource");

    public static readonly Counter WatchRestarts = Metrics.CreateCounter(
        "egressd_kubernetes_watch_restarts_total", "Watches started again, by why the last one ended.", "resource", "reason");

    public static readonly Counter Events = Metrics.CreateCounter(
        "egressd_kubernetes_watch_events_total", "Watch events received.", "resource", "type");

    public static readonly Gauge Objects = Metrics.CreateGauge(
        "egressd_kubernetes_objects", "Objects of a resource held in the cache.", "resource");
}
