namespace Egressd.Shared.Inventory;

/// <summary>Settings under <c>Egressd:Inventory</c>.</summary>
public sealed class InventoryOptions
{
    public const string Section = "Egressd:Inventory";

    /// <summary>A JSON inventory of pods, nodes and services, for running without a cluster.</summary>
    public string? File { get; set; }
}
