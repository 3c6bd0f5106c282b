namespace Egressd.Shared.Bus;

/// <summary>Settings under <c>Egressd:Bus</c>.</summary>
public sealed class BusOptions
{
    public const string Section = "Egressd:Bus";

    /// <summary><c>inmemory</c> (everything in one process) or <c>rabbitmq</c>, in any case.</summary>
    public BusTransport Transport { get; set; } = BusTransport.InMemory;

    public RabbitMqOptions RabbitMq { get; set; } = new();

    /// <summary>How long a publish may wait for the broker's confirm before it counts as failed.</summary>
    public TimeSpan PublishTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Messages the broker hands each consumer before they are acknowledged.</summary>
    public int PrefetchCount { get; set; } = 16;

    /// <summary>Messages one endpoint handles at once (defaults to <see cref="DefaultConcurrentMessageLimit"/>, at most the prefetch count).</summary>
    public int? ConcurrentMessageLimit { get; set; }

    /// <summary>
    /// A batch is milliseconds of CPU work and a few hundred KiB of memory: more at once than a
    /// node's few cores can work on only holds more batches, long enough for the garbage collector
    /// to move them to its oldest generation and collect that in full again and again. Four keep
    /// the enricher busy while its publishes wait for the broker's confirms.
    /// </summary>
    public const int DefaultConcurrentMessageLimit = 4;

    internal int EffectiveConcurrentMessageLimit => ConcurrentMessageLimit ?? Math.Min(PrefetchCount, DefaultConcurrentMessageLimit);

    /// <summary>Immediate retries of a failed message before it goes to the endpoint's <c>_error</c> queue.</summary>
    public int RetryLimit { get; set; } = 3;

    /// <summary>Pause between those retries.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A received body larger than this goes to the endpoint's <c>_error</c> queue unread.</summary>
    public long MaxMessageBytes { get; set; } = 16 << 20;
}
