namespace Egressd.Contracts;

/// <summary>A collected batch with Kubernetes context: enricher → exporters. Keeps the collected batch's id.</summary>
public sealed record FlowBatchEnriched
{
    public required BatchId Id { get; init; }

    public required string Node { get; init; }

    public required DateTimeOffset WindowStart { get; init; }

    public required DateTimeOffset WindowEnd { get; init; }

    public required FlowSource Source { get; init; }

    public required IReadOnlyList<EnrichedFlow> Flows { get; init; }
}
