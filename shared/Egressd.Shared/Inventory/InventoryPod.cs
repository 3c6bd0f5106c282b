namespace Egressd.Shared.Inventory;

public sealed record InventoryPod
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    public string? Node { get; init; }

    /// <summary>Every address of the pod (status.podIPs), IPv4 and IPv6.</summary>
    public IReadOnlyList<string> Ips { get; init; } = [];

    /// <summary>A hostNetwork pod shares its node's addresses and is not told apart from the node.</summary>
    public bool HostNetwork { get; init; }

    public string? WorkloadKind { get; init; }

    public string? WorkloadName { get; init; }
}
