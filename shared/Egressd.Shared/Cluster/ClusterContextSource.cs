namespace Egressd.Shared.Cluster;

/// <summary>Where a service learns about the cluster: which addresses are pods, on which node, in which zone.</summary>
public enum ClusterContextSource
{
    /// <summary>Kubernetes when a cluster is reachable, else the inventory file when one is set, else none.</summary>
    Auto,

    /// <summary>The Kubernetes API, by list and watch.</summary>
    Kubernetes,

    /// <summary>A JSON inventory file (<c>Egressd:Inventory:File</c>).</summary>
    Inventory,

    /// <summary>Nothing: every address counts as a local pod in the collector; flows keep only their addresses.</summary>
    None,
}
