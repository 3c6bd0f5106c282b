namespace Egressd.Shared.Inventory;

public sealed record InventoryService
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    public IReadOnlyList<string> ClusterIps { get; init; } = [];
}
