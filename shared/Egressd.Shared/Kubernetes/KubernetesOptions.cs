using k8s;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Kubernetes;

/// <summary>Settings under <c>Egressd:Kubernetes</c>: how egressd reaches the cluster's API.</summary>
public sealed class KubernetesOptions
{
    public const string Section = "Egressd:Kubernetes";

    /// <summary>A kubeconfig file. Empty: the pod's service account inside a cluster, else none.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>A watch with no event (bookmarks included) for this long is assumed stuck and restarted.</summary>
    public TimeSpan WatchIdleTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Longest wait between attempts to reach the API server after failures.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a deleted pod's addresses still resolve: conntrack entries outlive their pods.</summary>
    public TimeSpan DeletedPodRetention { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Objects per page of a list.</summary>
    public int PageSize { get; set; } = 500;

    /// <summary>True when a cluster can be reached: a kubeconfig is set, or the process runs in a pod.</summary>
    public bool HasCluster => !string.IsNullOrWhiteSpace(Kubeconfig) || KubernetesClientConfiguration.IsInCluster();

    public KubernetesClientConfiguration ClientConfiguration() =>
        !string.IsNullOrWhiteSpace(Kubeconfig)
            ? KubernetesClientConfiguration.BuildConfigFromConfigFile(Kubeconfig)
            : KubernetesClientConfiguration.InClusterConfig();
}

internal sealed class KubernetesOptionsValidator : IValidateOptions<KubernetesOptions>
{
    public ValidateOptionsResult Validate(string? name, KubernetesOptions options)
    {
        var errors = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Kubeconfig) && !File.Exists(options.Kubeconfig))
        {
            errors.Add($"Egressd:Kubernetes:Kubeconfig '{options.Kubeconfig}' does not exist");
        }

        if (options.WatchIdleTimeout <= TimeSpan.Zero)
        {
            errors.Add($"Egressd:Kubernetes:WatchIdleTimeout must be positive (got {options.WatchIdleTimeout})");
        }

        if (options.MaxBackoff <= TimeSpan.Zero)
        {
            errors.Add($"Egressd:Kubernetes:MaxBackoff must be positive (got {options.MaxBackoff})");
        }

        if (options.DeletedPodRetention < TimeSpan.Zero)
        {
            errors.Add($"Egressd:Kubernetes:DeletedPodRetention must not be negative (got {options.DeletedPodRetention})");
        }

        if (options.PageSize is < 1 or > 10_000)
        {
            errors.Add($"Egressd:Kubernetes:PageSize must be between 1 and 10000 (got {options.PageSize})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
