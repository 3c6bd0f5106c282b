namespace Egressd.Shared.Cluster;

/// <summary>Settings under <c>Egressd:ClusterContext</c>, one choice for the collector and the enricher.</summary>
public sealed class ClusterContextOptions
{
    public const string Section = "Egressd:ClusterContext";

    public ClusterContextSource Source { get; set; } = ClusterContextSource.Auto;
}
