using Egressd.Shared.Inventory;

namespace Egressd.Enricher.Cluster;

/// <summary>Fills the cluster state from a static inventory file, for running without a cluster.</summary>
internal static class InventoryClusterSource
{
    public static void Load(ClusterState state, string path)
    {
        var document = InventoryDocument.Load(path);
        foreach (var node in document.Nodes)
        {
            var labels = new Dictionary<string, string>(node.Labels, StringComparer.Ordinal);
            if (node.Zone is not null)
            {
                labels.TryAdd("topology.kubernetes.io/zone", node.Zone);
            }

            if (node.Region is not null)
            {
                labels.TryAdd("topology.kubernetes.io/region", node.Region);
            }

            state.UpsertNode(node.Name, new NodeInfo(
                node.Name,
                labels.GetValueOrDefault("topology.kubernetes.io/zone"),
                labels.GetValueOrDefault("topology.kubernetes.io/region"),
                Addresses.Canonical(node.InternalIps))
            {
                ProviderId = node.ProviderId,
                Labels = labels,
                ExternalIps = Addresses.Canonical(node.ExternalIps),
            });
        }

        foreach (var pod in document.Pods)
        {
            // The inventory names the workload outright: it stands as the pod's owner.
            state.UpsertPod($"{pod.Namespace}/{pod.Name}", new PodInfo(
                pod.Namespace, pod.Name, pod.Node, Addresses.Canonical(pod.Ips), pod.HostNetwork, DateTimeOffset.MinValue, pod.WorkloadKind, pod.WorkloadName));
        }

        foreach (var service in document.Services)
        {
            state.UpsertService($"{service.Namespace}/{service.Name}", new ServiceInfo(service.Namespace, service.Name, Addresses.Canonical(service.ClusterIps)));
        }

        state.Require("inventory");
        state.MarkSynced("inventory");
    }
}
