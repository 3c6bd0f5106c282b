using System.Net;
using Microsoft.Extensions.Options;

namespace Egressd.Enricher;

/// <summary>Settings under <c>Egressd:Enricher</c>.</summary>
public sealed class EnricherOptions
{
    public const string Section = "Egressd:Enricher";

    /// <summary>Where cluster context comes from: <c>auto</c> (Kubernetes when a cluster is reachable, else the inventory file when set, else none), <c>kubernetes</c>, <c>inventory</c> or <c>none</c>.</summary>
    public string Source { get; set; } = EnricherSources.Auto;

    /// <summary>A batch with more flows is refused (to the <c>_error</c> queue): it did not come from a collector.</summary>
    public int MaxFlowsPerBatch { get; set; } = 100_000;

    /// <summary>Destinations in these CIDRs count as <c>same-zone</c>, whatever else is known (Kubecost's in-zone list).</summary>
    public List<string> InZoneCidrs { get; set; } = [];

    /// <summary>Destinations in these CIDRs count as <c>cross-zone</c> (in the region, another zone).</summary>
    public List<string> InRegionCidrs { get; set; } = [];

    /// <summary>Destinations in these CIDRs count as <c>cross-region</c>.</summary>
    public List<string> CrossRegionCidrs { get; set; } = [];

    /// <summary>Destinations in these CIDRs count as <c>internet</c>, even when private (a NAT gateway, say).</summary>
    public List<string> InternetCidrs { get; set; } = [];
}

public static class EnricherSources
{
    public const string Auto = "auto";
    public const string Kubernetes = "kubernetes";
    public const string Inventory = "inventory";
    public const string None = "none";
}

internal sealed class EnricherOptionsValidator(IOptions<Shared.Inventory.InventoryOptions> inventory, IOptions<Shared.Kubernetes.KubernetesOptions> kubernetes)
    : IValidateOptions<EnricherOptions>
{
    public ValidateOptionsResult Validate(string? name, EnricherOptions options)
    {
        var errors = new List<string>();
        if (options.MaxFlowsPerBatch < 1)
        {
            errors.Add($"Egressd:Enricher:MaxFlowsPerBatch must be at least 1 (got {options.MaxFlowsPerBatch})");
        }

        Cidrs(options.InZoneCidrs, nameof(options.InZoneCidrs), errors);
        Cidrs(options.InRegionCidrs, nameof(options.InRegionCidrs), errors);
        Cidrs(options.CrossRegionCidrs, nameof(options.CrossRegionCidrs), errors);
        Cidrs(options.InternetCidrs, nameof(options.InternetCidrs), errors);

        var file = inventory.Value.File;
        switch (options.Source?.Trim().ToLowerInvariant())
        {
            case EnricherSources.Auto or EnricherSources.None:
                break;
            case EnricherSources.Kubernetes:
                if (!kubernetes.Value.HasCluster)
                {
                    errors.Add("Egressd:Enricher:Source 'kubernetes' needs Egressd:Kubernetes:Kubeconfig outside a pod");
                }

                break;
            case EnricherSources.Inventory:
                if (string.IsNullOrWhiteSpace(file))
                {
                    errors.Add("Egressd:Enricher:Source 'inventory' needs Egressd:Inventory:File");
                }

                break;
            default:
                errors.Add($"Egressd:Enricher:Source must be '{EnricherSources.Auto}', '{EnricherSources.Kubernetes}', '{EnricherSources.Inventory}' or '{EnricherSources.None}' (got '{options.Source}')");
                break;
        }

        if (!string.IsNullOrWhiteSpace(file) && !File.Exists(file))
        {
            errors.Add($"Egressd:Inventory:File '{file}' does not exist");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Cidrs(List<string> cidrs, string setting, List<string> errors)
    {
        for (var i = 0; i < cidrs.Count; i++)
        {
            if (!IPNetwork.TryParse(cidrs[i]?.Trim(), out _))
            {
                errors.Add($"Egressd:Enricher:{setting}:{i} must be a CIDR such as 10.0.0.0/8 (got '{cidrs[i]}')");
            }
        }
    }
}
