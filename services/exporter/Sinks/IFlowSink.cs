using Egressd.Contracts;

namespace Egressd.Exporter.Sinks;

/// <summary>Where enriched flows go. Each sink consumes from its own queue, so a slow one holds back no other.</summary>
public interface IFlowSink
{
    /// <summary>Short name; the sink's queue is <c>egressd-exporter-{Name}</c>.</summary>
    static abstract string Name { get; }

    /// <summary>
    /// Whether the sink's queue delivers to one consumer at a time, the others standing by: for a
    /// sink whose state lives in one process (counters), so a redelivery meets the state it was counted in.
    /// </summary>
    static virtual bool SingleActiveConsumer => false;

    /// <summary>
    /// Batches the sink's queue hands it at once, or null for <c>Egressd:Bus:ConcurrentMessageLimit</c>.
    /// For a sink that applies one batch at a time anyway: each batch decoded ahead only waits, and
    /// waiting, lives long enough to reach the oldest GC generation, which then fills and is
    /// collected in full again and again.
    /// </summary>
    static virtual int? ConcurrentBatches => null;

    /// <summary>Delivers one batch; returns once it is durable at the destination, throws if it is not.</summary>
    Task WriteAsync(FlowBatchEnriched batch, CancellationToken cancellationToken);
}
