using Egressd.Shared.Inventory;
using Egressd.Shared.Kubernetes;
using Microsoft.Extensions.Options;

namespace Egressd.Shared.Cluster;

/// <summary>
/// Checks the choice against what is there, and reads the inventory file once at start, so a
/// missing or malformed file stops the service with one line instead of failing later.
/// </summary>
internal sealed class ClusterContextOptionsValidator(IOptions<InventoryOptions> inventory, IOptions<KubernetesOptions> kubernetes)
    : IValidateOptions<ClusterContextOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterContextOptions options)
    {
        var errors = new List<string>();
        var file = inventory.Value.File;
        switch (options.Source)
        {
            case ClusterContextSource.Kubernetes when !kubernetes.Value.HasCluster:
                errors.Add($"{ClusterContextOptions.Section}:Source 'Kubernetes' needs {KubernetesOptions.Section}:Kubeconfig outside a pod");
                break;
            case ClusterContextSource.Inventory when string.IsNullOrWhiteSpace(file):
                errors.Add($"{ClusterContextOptions.Section}:Source 'Inventory' needs {InventoryOptions.Section}:File");
                break;
            case not (ClusterContextSource.Auto or ClusterContextSource.Kubernetes or ClusterContextSource.Inventory or ClusterContextSource.None):
                errors.Add($"{ClusterContextOptions.Section}:Source must be Auto, Kubernetes, Inventory or None (got '{options.Source}')");
                break;
        }

        if (!string.IsNullOrWhiteSpace(file))
        {
            if (!File.Exists(file))
            {
                errors.Add($"{InventoryOptions.Section}:File '{file}' does not exist");
            }
            else
            {
                try
                {
                    InventoryDocument.Load(file);
                }
                catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
                {
                    errors.Add($"{InventoryOptions.Section}:File: {ex.Message}");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
