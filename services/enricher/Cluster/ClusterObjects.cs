namespace Egressd.Enricher.Cluster;

/// <summary>What egressd keeps of a pod. Addresses are in canonical text form.</summary>
public sealed record PodInfo(
    string Namespace,
    string Name,
    string? Node,
    IReadOnlyList<string> Ips,
    bool HostNetwork,
    DateTimeOffset Created,
    string? OwnerKind,
    string? OwnerName);

/// <summary>What egressd keeps of a node: where it is and its addresses.</summary>
public sealed record NodeInfo(string Name, string? Zone, string? Region, IReadOnlyList<string> Ips);

public sealed record ServiceInfo(string Namespace, string Name, IReadOnlyList<string> ClusterIps);

/// <summary>A ReplicaSet or Job: only who owns it, to name a pod's workload.</summary>
public sealed record OwnerInfo(string Namespace, string Name, string? OwnerKind, string? OwnerName);

internal static class Addresses
{
    /// <summary>The canonical text of an address (as the collector writes it), or null when it is not one.</summary>
    public static string? Canonical(string? text) =>
        System.Net.IPAddress.TryParse(text, out var address) ? address.ToString() : null;

    public static IReadOnlyList<string> Canonical(IEnumerable<string?>? texts) =>
        texts is null ? [] : [.. texts.Select(Canonical).OfType<string>().Distinct()];
}
