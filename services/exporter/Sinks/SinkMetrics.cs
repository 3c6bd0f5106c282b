using Prometheus;

namespace Egressd.Exporter.Sinks;

/// <summary>
/// Every sink's consumer counts into these, labelled with the sink's name. The sinks this host
/// consumes for (<see cref="Consuming"/>) have their series on /metrics at zero from the start, so
/// a dashboard sees a sink before its first batch.
/// </summary>
internal sealed class SinkMetrics
{
    public SinkMetrics(IMetricFactory metrics, IEnumerable<Consuming> consuming)
    {
        Applied = metrics.CreateCounter(
            "egressd_exporter_batches_applied_total", "Enriched batches a sink applied.", ["sink"]);
        Duplicates = metrics.CreateCounter(
            "egressd_exporter_duplicates_skipped_total", "Redelivered batches a sink had already applied and dropped.", ["sink"]);
        foreach (var sink in consuming.SelectMany(c => c.Sinks))
        {
            Applied.WithLabels(sink);
            Duplicates.WithLabels(sink);
        }
    }

    public Counter Applied { get; }

    public Counter Duplicates { get; }

    /// <summary>The sinks whose queues this host consumes.</summary>
    public sealed record Consuming(IReadOnlyList<string> Sinks);
}
