namespace Egressd.Contracts;

/// <summary>One part of one collector window: collector → enricher. The flows are the window's records, decoded.</summary>
public sealed record FlowBatchCollected
{
    public required BatchHeader Header { get; init; }

    public required IReadOnlyList<FlowRecord> Flows { get; init; }

    public required IReadOnlyList<DnsAnswer> DnsAnswers { get; init; }
}
