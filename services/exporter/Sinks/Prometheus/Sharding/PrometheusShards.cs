namespace Egressd.Exporter.Sinks.Prometheus.Sharding;

/// <summary>
/// The Prometheus sink split over replicas. Batches reach shard queues through a consistent-hash
/// exchange keyed by the batch's node (the routing key every batch is published with), so each
/// node's series live in one shard; each shard queue has a single active consumer, so one replica
/// counts it at a time; and the live replicas share the shards out evenly by name.
/// </summary>
internal static class PrometheusShards
{
    /// <summary>RabbitMQ's consistent-hash exchange (the rabbitmq_consistent_hash_exchange plugin, shipped with RabbitMQ).</summary>
    public const string Exchange = "egressd-exporter-prometheus-shards";

    public const string ExchangeType = "x-consistent-hash";

    public static string Queue(int shard) => $"{PrometheusSink.Queue}-{shard}";

    /// <summary>
    /// The shards <paramref name="self"/> holds among <paramref name="replicas"/> (sorted, itself
    /// included): every replica's share differs by at most one, and every replica computes the same
    /// split from the same set.
    /// </summary>
    public static IReadOnlyList<int> Owned(string self, int shards, IReadOnlyList<string> replicas)
    {
        var index = -1;
        for (var i = 0; i < replicas.Count; i++)
        {
            if (string.Equals(replicas[i], self, StringComparison.Ordinal))
            {
                index = i;
            }
        }

        if (index < 0)
        {
            throw new ArgumentException($"replica {self} is not among the replicas", nameof(replicas));
        }

        var owned = new List<int>();
        for (var shard = index; shard < shards; shard += replicas.Count)
        {
            owned.Add(shard);
        }

        return owned;
    }
}
