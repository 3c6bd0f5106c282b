namespace Egressd.Contracts;

/// <summary>
/// A flow with what is known about both ends. A value whose endpoints and names are shared by
/// every flow of the batch that has them: the wire carries each once per batch, and a consumer
/// can work per distinct endpoint (by reference) rather than per flow.
/// </summary>
public readonly record struct EnrichedFlow
{
    /// <summary>The flow exactly as the collector published it.</summary>
    public required FlowRecord Flow { get; init; }

    public required FlowEndpoint Source { get; init; }

    public required FlowEndpoint Destination { get; init; }

    /// <summary>The service whose cluster IP was the original destination, as "namespace/name".</summary>
    public string? DestinationService { get; init; }

    /// <summary>A DNS name that resolved to the destination, for destinations outside the cluster.</summary>
    public string? DestinationDnsName { get; init; }

    public required TrafficClass TrafficClass { get; init; }
}
