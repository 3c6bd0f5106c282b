namespace Egressd.Exporter.Sinks.Prometheus.Cost;

/// <summary>
/// The labels of <c>egressd_transfer_cost_usd_total</c>: what a finance view groups by, far fewer
/// than the flow series' (no pods, addresses or destinations) unless added. The flow series'
/// <c>AddLabels</c> and <c>DropLabels</c> apply to it too; <c>charge</c> is always there.
/// </summary>
internal static class CostLabels
{
    public const string Charge = "charge";

    public static readonly IReadOnlyList<string> WorkloadLevel = ["src_namespace", "src_workload", "traffic_class"];

    public static readonly IReadOnlyList<string> NamespaceLevel = ["src_namespace", "traffic_class"];

    /// <summary>The cost series' flow labels, sorted by name (validated options only).</summary>
    public static IReadOnlyList<string> Resolve(PrometheusOptions options)
    {
        var labels = new SortedSet<string>(options.Level == LabelLevel.Namespace ? NamespaceLevel : WorkloadLevel, StringComparer.Ordinal);
        labels.UnionWith(FlowLabels.SplitList(options.AddLabels));
        labels.ExceptWith(FlowLabels.SplitList(options.DropLabels));
        return [.. labels];
    }
}
