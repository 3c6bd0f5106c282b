using System.Text.Json.Serialization;

namespace Egressd.Contracts;

/// <summary>A collected batch with Kubernetes context: enricher → exporters. Keeps the collected batch's id.</summary>
public sealed record FlowBatchEnriched
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

    public required IReadOnlyList<EnrichedFlow> Flows { get; init; }
}
