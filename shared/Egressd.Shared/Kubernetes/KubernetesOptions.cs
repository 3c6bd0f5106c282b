namespace Egressd.Shared.Kubernetes;

/// <summary>Settings under <c>Egressd:Kubernetes</c>: how egressd reaches the cluster's API.</summary>
public sealed class KubernetesOptions
{
    public const string Section = "Egressd:Kubernetes";

    /// <summary>A kubeconfig file. Empty: the pod's service account inside a cluster, else none.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>
    /// Honour <c>insecure-skip-tls-verify: true</c> in the kubeconfig. Off: such a kubeconfig is refused at
    /// start, since anyone on the path to the API server could then read every watch and forge the cluster's context.
    /// </summary>
    public bool AllowInsecureSkipTlsVerify { get; set; }

    /// <summary>
    /// Run the kubeconfig user's <c>exec</c> credential plugin. Off: such a kubeconfig is refused at start, since the
    /// plugin would run with the service's rights (root, with kernel capabilities, in the collector).
    /// </summary>
    public bool AllowExecCredentialPlugins { get; set; }

    /// <summary>A watch with no event (bookmarks included) for this long is assumed stuck and restarted.</summary>
    public TimeSpan WatchIdleTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Longest wait between attempts to reach the API server after failures.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a deleted pod's addresses still resolve: conntrack entries outlive their pods.</summary>
    public TimeSpan DeletedPodRetention { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Objects per page of a list.</summary>
    public int PageSize { get; set; } = 500;

    /// <summary>True when a cluster can be reached: a kubeconfig is set, or the process runs in a pod.</summary>
    public bool HasCluster => !string.IsNullOrWhiteSpace(Kubeconfig) || ServiceAccount.FromEnvironment() is not null;
}
