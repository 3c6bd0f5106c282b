using MassTransit;

namespace Egressd.Exporter.Sinks;

/// <summary>
/// One sink's queue, <c>egressd-exporter-{sink}</c>, and the one consumer that feeds the sink from
/// it. Every sink is consumed the same way; only what the queue hands over at once differs.
/// </summary>
internal sealed class SinkQueue
{
    /// <summary>The sink's name on metrics and in logs.</summary>
    public required string Sink { get; init; }

    public required string Queue { get; init; }

    public required FlowSinkConsumer Consumer { get; init; }

    /// <summary>
    /// Whether the queue delivers to one consumer at a time, the others standing by: for a sink
    /// whose state lives in one process (counters), so a redelivery meets the state it was counted in.
    /// </summary>
    public bool SingleActiveConsumer { get; init; }

    /// <summary>
    /// Batches the queue hands the sink at once, or null for <c>Egressd:Bus:ConcurrentMessageLimit</c>.
    /// For a sink that applies one batch at a time anyway: each batch decoded ahead only waits, and
    /// waiting, lives long enough to reach the oldest GC generation, which then fills and is
    /// collected in full again and again.
    /// </summary>
    public int? ConcurrentBatches { get; init; }

    /// <summary>
    /// Batches the sink holds unacknowledged at once (an HTTP sink's interval), or null: the queue
    /// then hands over (prefetches) that many too, or the sink would wait for batches never sent.
    /// </summary>
    public int? HeldBatches { get; init; }

    /// <summary>
    /// Consumed on queues connected while the exporter runs (the Prometheus sink's shards, see
    /// <c>ShardCoordinator</c>) rather than on a queue of its own made with the bus.
    /// </summary>
    public bool OnShardQueues { get; init; }

    public static string NameOf(string sink) => $"egressd-exporter-{sink}";

    public void Configure(IReceiveEndpointConfigurator endpoint)
    {
        // RabbitMQ only: the in-memory transport has one process, hence one consumer, anyway.
        if (SingleActiveConsumer && endpoint is IRabbitMqReceiveEndpointConfigurator rabbit)
        {
            rabbit.SingleActiveConsumer = true;
        }

        if (ConcurrentBatches is { } batches)
        {
            endpoint.ConcurrentMessageLimit = batches;
        }

        if (HeldBatches is { } held)
        {
            endpoint.PrefetchCount = held;
            endpoint.ConcurrentMessageLimit = held;
        }

        endpoint.Consumer(() => Consumer);
    }
}
