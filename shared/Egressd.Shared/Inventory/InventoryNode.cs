namespace Egressd.Shared.Inventory;

public sealed record InventoryNode
{
    public required string Name { get; init; }

    public string? Zone { get; init; }

    public string? Region { get; init; }

    public IReadOnlyList<string> InternalIps { get; init; } = [];
}
