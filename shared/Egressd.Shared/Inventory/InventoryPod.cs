namespace Egressd.Shared.Inventory;

public sealed record InventoryPod
{
    public required string Namespace { get; init; }

    public required string Name { get; init; }

    public string? Node { get; init; }

    /// <summary>Every address of the pod (status.podIPs), IPv4 and IPv6.</summary>
    public IReadOnlyList<string> Ips { get; init; } = [];

    /// <summary>A hostNetwork pod shares its node's addresses: its flows are told apart from the node's by its sockets' cgroup, named after <see cref="Uid"/>.</summary>
    public bool HostNetwork { get; init; }

    /// <summary>The pod's uid (a static pod's: its config hash), which kubelet names its cgroup after.</summary>
    public string? Uid { get; init; }

    public string? WorkloadKind { get; init; }

    public string? WorkloadName { get; init; }
}
