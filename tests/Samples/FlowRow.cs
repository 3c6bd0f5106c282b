using Egressd.Contracts;

namespace Egressd.Tests.Samples;

/// <summary>
/// An enriched flow with its two ends as objects, the way a test or a benchmark describes one;
/// <see cref="EnrichedRows.Batch"/> turns rows into a batch with its endpoint table.
/// </summary>
internal readonly record struct FlowRow
{
    public required FlowRecord Flow { get; init; }

    public required FlowEndpoint Source { get; init; }

    public required FlowEndpoint Destination { get; init; }

    public string? DestinationService { get; init; }

    public string? DestinationDnsName { get; init; }

    public required TrafficClass TrafficClass { get; init; }

    public FlowCharges Cost { get; init; }
}
