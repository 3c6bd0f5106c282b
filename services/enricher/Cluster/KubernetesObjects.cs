using k8s.Models;

namespace Egressd.Enricher.Cluster;

/// <summary>The transforms the reflectors apply: only these fields of each object are kept.</summary>
internal static class KubernetesObjects
{
    private const string ZoneLabel = "topology.kubernetes.io/zone";
    private const string RegionLabel = "topology.kubernetes.io/region";
    private const string LegacyZoneLabel = "failure-domain.beta.kubernetes.io/zone";
    private const string LegacyRegionLabel = "failure-domain.beta.kubernetes.io/region";

    public static PodInfo Pod(V1Pod pod)
    {
        var owner = Controller(pod.Metadata);
        IEnumerable<string?> ips = pod.Status?.PodIPs is { Count: > 0 } podIps ? podIps.Select(p => (string?)p.Ip) : [pod.Status?.PodIP];
        return new PodInfo(
            pod.Metadata.NamespaceProperty,
            pod.Metadata.Name,
            pod.Spec?.NodeName,
            Addresses.Canonical(ips),
            pod.Spec?.HostNetwork ?? false,
            pod.Metadata.CreationTimestamp is { } created ? new DateTimeOffset(DateTime.SpecifyKind(created, DateTimeKind.Utc)) : DateTimeOffset.MinValue,
            owner?.Kind,
            owner?.Name);
    }

    public static NodeInfo Node(V1Node node)
    {
        var labels = node.Metadata.Labels ?? new Dictionary<string, string>();
        string? Label(string name, string legacy) =>
            labels.TryGetValue(name, out var value) || labels.TryGetValue(legacy, out value) ? value : null;
        return new NodeInfo(
            node.Metadata.Name,
            Label(ZoneLabel, LegacyZoneLabel),
            Label(RegionLabel, LegacyRegionLabel),
            Addresses.Canonical(node.Status?.Addresses?.Where(a => a.Type == "InternalIP").Select(a => a.Address)));
    }

    public static ServiceInfo Service(V1Service service)
    {
        IEnumerable<string?> ips = service.Spec?.ClusterIPs is { Count: > 0 } clusterIps ? clusterIps : [service.Spec?.ClusterIP];
        // Headless services ("None") have no address of their own.
        return new ServiceInfo(service.Metadata.NamespaceProperty, service.Metadata.Name, Addresses.Canonical(ips.Where(ip => ip != "None")));
    }

    public static OwnerInfo Owner(V1ObjectMeta metadata)
    {
        var owner = Controller(metadata);
        return new OwnerInfo(metadata.NamespaceProperty, metadata.Name, owner?.Kind, owner?.Name);
    }

    private static V1OwnerReference? Controller(V1ObjectMeta metadata) =>
        metadata.OwnerReferences?.FirstOrDefault(o => o.Controller == true) ?? metadata.OwnerReferences?.FirstOrDefault();
}
