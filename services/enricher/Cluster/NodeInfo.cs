namespace Egressd.Enricher.Cluster;

/// <summary>What egressd keeps of a node: where it is and its addresses.</summary>
internal sealed record NodeInfo(string Name, string? Zone, string? Region, IReadOnlyList<string> Ips);
