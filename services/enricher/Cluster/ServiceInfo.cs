namespace Egressd.Enricher.Cluster;

/// <summary>What egressd keeps of a service: the cluster addresses that stand for it.</summary>
internal sealed record ServiceInfo(string Namespace, string Name, IReadOnlyList<string> ClusterIps);
