using Egressd.Contracts;

namespace Egressd.Exporter.Sinks.Prometheus;

/// <summary>
/// Adds each batch's deltas to cumulative counters, served on <c>/metrics</c> and pushed by remote
/// write. Its queue has a single active consumer: a batch redelivered after a crash lands on the
/// replica that holds the counters it was (or was not) added to, whose id window drops a copy.
/// </summary>
internal sealed class PrometheusSink(FlowSeriesStore store, PrometheusSinkMetrics metrics) : IFlowSink
{
    public static string Name => "prometheus";

    public static bool SingleActiveConsumer => true;

    // Batches are applied one at a time under the store's lock: one applied, the next decoded.
    // With the bus's 16 at once, the exporter ran a full collection about once a second under load.
    public static int? ConcurrentBatches => 2;

    public Task WriteAsync(FlowBatchEnriched batch, CancellationToken cancellationToken)
    {
        var result = store.Apply(batch.Flows, batch.CounterDirections);
        metrics.Record(result, store.Count);
        return Task.CompletedTask;
    }
}
