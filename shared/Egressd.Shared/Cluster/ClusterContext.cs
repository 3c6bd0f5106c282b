using Egressd.Shared.Inventory;
using Egressd.Shared.Kubernetes;

namespace Egressd.Shared.Cluster;

/// <summary>The cluster context a process uses, with <see cref="ClusterContextSource.Auto"/> resolved.</summary>
public sealed record ClusterContext(ClusterContextSource Source, string? InventoryFile)
{
    public static ClusterContext Resolve(ClusterContextOptions options, KubernetesOptions kubernetes, InventoryOptions inventory)
    {
        var file = string.IsNullOrWhiteSpace(inventory.File) ? null : inventory.File;
        var source = options.Source switch
        {
            ClusterContextSource.Auto when kubernetes.HasCluster => ClusterContextSource.Kubernetes,
            ClusterContextSource.Auto when file is not null => ClusterContextSource.Inventory,
            ClusterContextSource.Auto => ClusterContextSource.None,
            var chosen => chosen,
        };
        return new ClusterContext(source, file);
    }

    /// <summary>For startup logs.</summary>
    public string Description => Source switch
    {
        ClusterContextSource.Kubernetes => "the Kubernetes API",
        ClusterContextSource.Inventory => $"the inventory file {InventoryFile}",
        _ => "none",
    };
}
