namespace Egressd.Enricher;

/// <summary>Settings under <c>Egressd:Enricher</c>.</summary>
internal sealed class EnricherOptions
{
    public const string Section = "Egressd:Enricher";

    /// <summary>A batch with more flows is refused (to the <c>_error</c> queue): it did not come from a collector.</summary>
    public int MaxFlowsPerBatch { get; set; } = 100_000;

    /// <summary>Destinations in these CIDRs count as <c>same-zone</c>, whatever else is known (Kubecost's in-zone list).</summary>
    public List<string> InZoneCidrs { get; set; } = [];

    /// <summary>Destinations in these CIDRs count as <c>cross-zone</c> (in the region, another zone).</summary>
    public List<string> InRegionCidrs { get; set; } = [];

    /// <summary>Destinations in these CIDRs count as <c>cross-region</c>.</summary>
    public List<string> CrossRegionCidrs { get; set; } = [];

    /// <summary>Destinations in these CIDRs count as <c>internet</c>, even when private (a NAT gateway, say).</summary>
    public List<string> InternetCidrs { get; set; } = [];

    /// <summary>Most addresses whose DNS names (from every collector's answers) are kept; the least recently used goes first.</summary>
    public int DnsMaxEntries { get; set; } = 200_000;
}
