namespace Egressd.Shared.Cost;

/// <summary>
/// Settings under <c>Egressd:Cost</c>: what traffic costs. Prices are written <c>0.01/GB</c> or
/// <c>0.01/GiB</c> (dollars); classes by their label names (<c>cross-zone</c>, <c>internet</c>, ...).
/// A more specific price wins: a destination rule, then a region pair, then a source region, then a class.
/// </summary>
public sealed class CostOptions
{
    public const string Section = "Egressd:Cost";

    public bool Enabled { get; set; } = true;

    /// <summary>Whose list prices apply: each node's own cloud (<c>Auto</c>), one for the whole cluster, or <c>None</c>.</summary>
    public CloudProviderSetting Provider { get; set; } = CloudProviderSetting.Auto;

    /// <summary>The region of nodes without a <c>topology.kubernetes.io/region</c> label.</summary>
    public string? Region { get; set; }

    /// <summary>What a pod pays per byte it sends, by class: <c>Prices:cross-zone=0.01/GB</c>.</summary>
    public Dictionary<string, string> Prices { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>What a pod pays per byte it receives, by class: <c>IngressPrices:cross-zone=0.01/GB</c>.</summary>
    public Dictionary<string, string> IngressPrices { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>What a pod in a region pays per byte it sends, by class: <c>RegionPrices:sa-east-1:internet=0.15/GB</c>.</summary>
    public Dictionary<string, Dictionary<string, string>> RegionPrices { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>What a pod pays per byte it sends from one region to another: <c>RegionPairPrices:us-east-1:us-east-2=0.01/GB</c>.</summary>
    public Dictionary<string, Dictionary<string, string>> RegionPairPrices { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>A NAT gateway's processing price, instead of the provider's.</summary>
    public string? NatPrice { get; set; }

    public CostNatOptions Nat { get; set; } = new();

    /// <summary>Destinations priced by address, first match wins.</summary>
    public List<CostDestinationOptions> Destinations { get; set; } = [];
}
