namespace Egressd.Enricher.Cluster;

/// <summary>What egressd keeps of a pod. Addresses are in canonical text form.</summary>
internal sealed record PodInfo(
    string Namespace,
    string Name,
    string? Node,
    IReadOnlyList<string> Ips,
    bool HostNetwork,
    DateTimeOffset Created,
    string? OwnerKind,
    string? OwnerName);
