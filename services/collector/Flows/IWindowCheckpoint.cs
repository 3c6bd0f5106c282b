using Egressd.Shared.Wire;

namespace Egressd.Collector.Flows;

/// <summary>
/// Where the collector keeps, across its own restarts, what it has read: the source's per-entry
/// counters together with the windows not yet confirmed by the broker. The window publisher saves
/// only when no deltas are pending, so the counters saved are exactly those of the windows saved
/// with them plus everything confirmed before.
/// </summary>
public interface IWindowCheckpoint
{
    /// <summary>Window parts a previous process froze and never saw confirmed: re-sent first, with their own ids.</summary>
    IReadOnlyList<EncodedFlowBatch> Unconfirmed { get; }

    /// <summary>Saves the source's counters as of its last read with <paramref name="unconfirmed"/> (all parts not yet confirmed).</summary>
    void Save(IReadOnlyList<EncodedFlowBatch> unconfirmed);

    /// <summary>Every part saved so far is confirmed: a restart must not send them again.</summary>
    void Confirmed();
}
