namespace Egressd.Contracts;

/// <summary>
/// A collected batch with Kubernetes context: enricher → exporters. Keeps the collected batch's
/// header (and so its id). A table, as the wire carries it: every distinct end of the batch's
/// flows once in <see cref="Endpoints"/>, and each flow naming its two ends by their index there,
/// so a sink works per endpoint (a pod's labels, once per batch) rather than per flow.
/// </summary>
public sealed record FlowBatchEnriched
{
    public required BatchHeader Header { get; init; }

    /// <summary>Every end of the batch's flows, each once.</summary>
    public required IReadOnlyList<FlowEndpoint> Endpoints { get; init; }

    /// <summary>The flows; their <see cref="EnrichedFlow.SourceEndpoint"/> and <see cref="EnrichedFlow.DestinationEndpoint"/> index <see cref="Endpoints"/>.</summary>
    public required IReadOnlyList<EnrichedFlow> Flows { get; init; }

    /// <summary>The source end of flow <paramref name="flow"/>.</summary>
    public FlowEndpoint SourceOf(int flow) => Endpoints[Flows[flow].SourceEndpoint];

    /// <summary>The destination end of flow <paramref name="flow"/>.</summary>
    public FlowEndpoint DestinationOf(int flow) => Endpoints[Flows[flow].DestinationEndpoint];
}
