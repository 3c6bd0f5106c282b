using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>
/// One end of the collector: each call returns the traffic seen since the previous call, as
/// deltas per flow key. The window publisher folds them in until the broker has confirmed them.
/// </summary>
public interface IFlowReader
{
    FlowSource Source { get; }

    ValueTask<FlowReading> ReadAsync(CancellationToken cancellationToken);
}

public sealed record FlowReading(IReadOnlyList<FlowRecord> Deltas, IReadOnlyList<DnsAnswer> DnsAnswers)
{
    public static FlowReading Empty { get; } = new([], []);
}
