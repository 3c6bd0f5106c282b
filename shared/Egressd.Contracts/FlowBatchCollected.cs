using System.Text.Json.Serialization;

namespace Egressd.Contracts;

/// <summary>One part of one collector window: collector → enricher.</summary>
public sealed record FlowBatchCollected
{
    public required BatchId Id { get; init; }

    public required string Node { get; init; }

    public required DateTimeOffset WindowStart { get; init; }

    public required DateTimeOffset WindowEnd { get; init; }

    public required FlowSource Source { get; init; }

    /// <summary>
    /// Whether the flows' counters are per direction (the default, and what a body without the
    /// field means) or both directions' total carried as transmit (see <see cref="FlowCounterDirections"/>).
    /// Left out of JSON when separate, so bodies of sources with separate counters stay as they were.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public FlowCounterDirections CounterDirections { get; init; }

    public required IReadOnlyList<FlowRecord> Flows { get; init; }

    public required IReadOnlyList<DnsAnswer> DnsAnswers { get; init; }
}
