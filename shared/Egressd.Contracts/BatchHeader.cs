namespace Egressd.Contracts;

/// <summary>
/// What every batch part says about itself, collected or enriched: its id, the node and window it
/// covers, the source it was read from and what that source's counters mean. The enricher hands
/// the collected part's header on unchanged.
/// </summary>
public sealed record BatchHeader
{
    public required BatchId Id { get; init; }

    public required string Node { get; init; }

    public required DateTimeOffset WindowStart { get; init; }

    public required DateTimeOffset WindowEnd { get; init; }

    public required FlowSource Source { get; init; }

    /// <summary>
    /// Whether the flows' counters are per direction (the default) or both directions' total
    /// carried as transmit (see <see cref="FlowCounterDirections"/>).
    /// </summary>
    public FlowCounterDirections CounterDirections { get; init; }
}
