namespace Egressd.Shared.Inventory;

public sealed record InventoryNode
{
    public required string Name { get; init; }

    public string? Zone { get; init; }

    public string? Region { get; init; }

    public IReadOnlyList<string> InternalIps { get; init; } = [];

    /// <summary>Its <c>ExternalIP</c> addresses: a node with none reaches the internet through NAT (docs/COST.md).</summary>
    public IReadOnlyList<string> ExternalIps { get; init; } = [];

    /// <summary>Its <c>spec.providerID</c> (<c>aws:///us-east-1a/i-0abc</c>): which cloud's prices its traffic pays.</summary>
    public string? ProviderId { get; init; }

    /// <summary>Its labels, as the API has them; <see cref="Zone"/> and <see cref="Region"/> stand for the topology labels when these lack them.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();
}
