using Egressd.Contracts;
using Egressd.Exporter.Sinks.Prometheus.Cost;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>
/// Adds each batch's deltas to cumulative counters, served on <c>/metrics</c> and pushed by remote
/// write. Its queue has a single active consumer: a batch redelivered after a crash lands on the
/// replica that holds the counters it was (or was not) added to, whose id window drops a copy.
/// </summary>
internal sealed class PrometheusSink(FlowSeriesStore store, CostSeriesStore costs, PrometheusSinkMetrics metrics) : IFlowSink
{
    public const string Name = "prometheus";

    /// <summary>The sink's queue; with shards, the shard queues are named after it.</summary>
    public static readonly string Queue = SinkQueue.NameOf(Name);

    public Task WriteAsync(FlowBatchEnriched batch, CancellationToken cancellationToken)
    {
        var result = store.Apply(batch);
        result.Refused += costs.Apply(batch);
        metrics.Record(result, store.Count);
        return Task.CompletedTask;
    }
}
