namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>Settings under <c>Egressd:Exporter:Prometheus</c>: cumulative flow counters served on <c>/metrics</c>.</summary>
public sealed class PrometheusOptions
{
    public const string Section = "Egressd:Exporter:Prometheus";

    public bool Enabled { get; set; } = true;

    /// <summary>The base label set: <c>Pod</c> (egressd's labels), <c>Workload</c> or <c>Namespace</c>.</summary>
    public LabelLevel Level { get; set; } = LabelLevel.Pod;

    /// <summary>Comma-separated labels added to the level's set.</summary>
    public string AddLabels { get; set; } = "";

    /// <summary>Comma-separated labels removed from the level's set; series that differed only in them are summed.</summary>
    public string DropLabels { get; set; } = "";

    /// <summary>Labels with fixed values on every flow series (e.g. <c>cluster</c>).</summary>
    public Dictionary<string, string> StaticLabels { get; set; } = [];

    /// <summary>A series that no flow has updated for this long is removed.</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Most label sets kept at once; flows that would need another are counted as refused.</summary>
    public int MaxSeries { get; set; } = 200_000;

    /// <summary>
    /// Shard queues the sink's batches are split over (RabbitMQ only). 1: one queue, one active
    /// replica, the others standing by. More: every replica takes an even share of the shards and
    /// holds only its share's series; a node's batches always go to the same shard. Every replica
    /// needs the same value.
    /// </summary>
    public int Shards { get; set; } = 1;

    /// <summary>With <see cref="Shards"/> above 1: how long a replica may go unheard before the others take its shards.</summary>
    public TimeSpan ShardTakeover { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>The labels of every flow series, sorted by name (validated options only).</summary>
    internal IReadOnlyList<string> ResolveLabels()
    {
        var labels = new SortedSet<string>(FlowLabels.LevelLabels(Level), StringComparer.Ordinal);
        labels.UnionWith(FlowLabels.SplitList(AddLabels));
        labels.ExceptWith(FlowLabels.SplitList(DropLabels));
        return [.. labels];
    }
}
