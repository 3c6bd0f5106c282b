namespace Egressd.Contracts;

/// <summary>
/// A flow with what is known about both ends: one row of a <see cref="FlowBatchEnriched"/>, whose
/// ends are entries of the batch's endpoint table. A value: a batch's flows are one array.
/// </summary>
public readonly record struct EnrichedFlow
{
    /// <summary>The flow exactly as the collector published it.</summary>
    public required FlowRecord Flow { get; init; }

    /// <summary>The source end: an index into the batch's <see cref="FlowBatchEnriched.Endpoints"/>.</summary>
    public required int SourceEndpoint { get; init; }

    /// <summary>The destination end: an index into the batch's <see cref="FlowBatchEnriched.Endpoints"/>.</summary>
    public required int DestinationEndpoint { get; init; }

    /// <summary>The service whose cluster IP was the original destination, as "namespace/name".</summary>
    public string? DestinationService { get; init; }

    /// <summary>A DNS name that resolved to the destination, for destinations outside the cluster.</summary>
    public string? DestinationDnsName { get; init; }

    public required TrafficClass TrafficClass { get; init; }

    /// <summary>What this window of the flow cost its source pod, by charge (docs/COST.md).</summary>
    public FlowCharges Cost { get; init; }
}
