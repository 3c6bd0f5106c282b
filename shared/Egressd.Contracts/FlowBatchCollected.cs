namespace Egressd.Contracts;

/// <summary>One part of one collector window: collector → enricher.</summary>
public sealed record FlowBatchCollected
{
    public required BatchId Id { get; init; }

    public required string Node { get; init; }

    public required DateTimeOffset WindowStart { get; init; }

    public required DateTimeOffset WindowEnd { get; init; }

    public required FlowSource Source { get; init; }

    public required IReadOnlyList<FlowRecord> Flows { get; init; }

    public required IReadOnlyList<DnsAnswer> DnsAnswers { get; init; }
}
