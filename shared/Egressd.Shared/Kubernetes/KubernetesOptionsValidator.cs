using Egressd.Shared.Hosting;
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
        else if (!string.IsNullOrWhiteSpace(options.Kubeconfig))
        {
            KubeconfigPolicy.Check(options, errors);
        }

        DurationSetting.Validate(options.WatchIdleTimeout, $"{KubernetesOptions.Section}:WatchIdleTimeout", TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), errors);
        DurationSetting.Validate(options.MaxBackoff, $"{KubernetesOptions.Section}:MaxBackoff", TimeSpan.FromMilliseconds(100), TimeSpan.FromHours(1), errors);
        DurationSetting.Validate(options.DeletedPodRetention, $"{KubernetesOptions.Section}:DeletedPodRetention", TimeSpan.Zero, TimeSpan.FromDays(1), errors);

        if (options.PageSize is < 1 or > 10_000)
        {
            errors.Add($"Egressd:Kubernetes:PageSize must be between 1 and 10000 (got {options.PageSize})");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
