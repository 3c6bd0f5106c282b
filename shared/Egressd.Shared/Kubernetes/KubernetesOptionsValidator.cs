using Microsoft.Extensions.Options;

namespace Egressd.Shared.Kubernetes;

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
