namespace Egressd.Enricher.Cluster;

/// <summary>A ReplicaSet or Job: only who owns it, to name a pod's workload.</summary>
internal sealed record OwnerInfo(string Namespace, string Name, string? OwnerKind, string? OwnerName);
