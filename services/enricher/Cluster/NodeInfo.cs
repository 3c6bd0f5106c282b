namespace Egressd.Enricher.Cluster;

/// <summary>What egressd keeps of a node: where it is, its addresses, and what prices its traffic (provider id, labels, external addresses).</summary>
internal sealed record NodeInfo(string Name, string? Zone, string? Region, IReadOnlyList<string> Ips)
{
    /// <summary>Its <c>spec.providerID</c>.</summary>
    public string? ProviderId { get; init; }

    /// <summary>Its labels: the topology ones, and those a NAT node selector names.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>Its <c>ExternalIP</c> addresses: none means its internet traffic goes through NAT.</summary>
    public IReadOnlyList<string> ExternalIps { get; init; } = [];
}
