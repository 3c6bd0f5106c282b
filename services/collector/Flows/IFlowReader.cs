using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>
/// One end of the collector: each read adds the traffic seen since the previous read, as deltas
/// per flow key, to the <see cref="PendingFlows"/> it was made with. The window publisher turns
/// those into batches once they are confirmed.
/// </summary>
public interface IFlowReader
{
    FlowSource Source { get; }

    ValueTask ReadAsync(CancellationToken cancellationToken);

    /// <summary>What the counters of the deltas read so far mean; asked when a window is closed.</summary>
    FlowCounterDirections CounterDirections => FlowCounterDirections.Separate;

    /// <summary>The source's restart checkpoint, when it keeps per-entry counters a restart must continue from.</summary>
    IWindowCheckpoint? Checkpoint => null;

    /// <summary>
    /// At a clean stop, after the final read: adds the final counters of connections the source heard
    /// end since its last read (conntrack destroy events) to the pending flows, without reading the
    /// table again. With <paramref name="last"/> the source stops listening first, so nothing ending
    /// later is heard. Returns the connections applied.
    /// </summary>
    int ReadEnded(bool last) => 0;
}
