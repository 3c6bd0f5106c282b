using System.Collections;
using Egressd.Contracts;

namespace Egressd.Shared.Wire;

/// <summary>
/// The flows of a batch part held as the part's own wire body (<see cref="FlowWire.Seal"/>), about
/// 20 bytes a flow instead of a 96-byte record. A collector keeps a frozen window this way until the
/// broker confirms it: <see cref="FlowWire.Encode(FlowBatchCollected)"/> hands out these very bytes
/// for the batch they were sealed with, so every re-send is byte for byte the first. Reading the
/// flows (tests, the restart checkpoint) decodes the body each time.
/// </summary>
public sealed class SealedFlows : IReadOnlyList<FlowRecord>
{
    private WeakReference<FlowRecord[]>? decoded;

    internal SealedFlows(byte[] body, int count)
    {
        Body = body;
        Count = count;
    }

    /// <summary>The wire body of the whole part (<see cref="Owner"/>), as sent.</summary>
    public byte[] Body { get; }

    public int Count { get; }

    /// <summary>The batch whose body this is; a copy made with <c>with</c> is encoded afresh.</summary>
    internal FlowBatchCollected? Owner { get; set; }

    public FlowRecord this[int index] => Decoded()[index];

    public IEnumerator<FlowRecord> GetEnumerator() => ((IEnumerable<FlowRecord>)Decoded()).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private FlowRecord[] Decoded()
    {
        if (decoded is not null && decoded.TryGetTarget(out var flows))
        {
            return flows;
        }

        flows = (FlowRecord[])FlowWire.DecodeCollected(Body).Flows;
        decoded = new WeakReference<FlowRecord[]>(flows);
        return flows;
    }
}
