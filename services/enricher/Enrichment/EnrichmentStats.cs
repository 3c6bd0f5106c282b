using Egressd.Contracts;

namespace Egressd.Enricher.Enrichment;

/// <summary>What one enrichment saw, for metrics.</summary>
internal sealed class EnrichmentStats
{
    /// <summary>Flows whose source is no pod the cluster knows (the flow goes on with what is known).</summary>
    public int SourceUnknown { get; set; }

    /// <summary>Flows whose source is a node address the collector named no hostNetwork pod for: the node itself.</summary>
    public int SourceHostNetwork { get; set; }

    /// <summary>Flows whose source is a node address the collector attributed to a hostNetwork pod.</summary>
    public int SourceHostNetworkPod { get; set; }

    public int[] Classes { get; } = new int[Enum.GetValues<TrafficClass>().Length];
}
