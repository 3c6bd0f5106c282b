using Egressd.Contracts;
using MassTransit;

namespace Egressd.Shared.Wire;

/// <summary>
/// A collected batch part as its wire body: what the collector holds from the freeze of a window
/// until the broker confirms it, what it keeps in its restart checkpoint and what it publishes,
/// the same bytes each time, and far smaller than the part's records. On the bus it
/// is a <see cref="FlowBatchCollected"/> (its message type and exchange are that contract's), so
/// the enricher receives the part decoded.
/// </summary>
[MessageUrn(FlowWire.CollectedMessageName)]
public sealed class EncodedFlowBatch
{
    private EncodedFlowBatch(BatchHeader header, int flowCount, byte[] body)
    {
        Header = header;
        FlowCount = flowCount;
        BodyBytes = body;
    }

    public BatchHeader Header { get; }

    public int FlowCount { get; }

    /// <summary>The part's wire body (<see cref="FlowWire.Encode(FlowBatchCollected)"/>).</summary>
    public ReadOnlySpan<byte> Body => BodyBytes;

    internal byte[] BodyBytes { get; }

    public static EncodedFlowBatch Encode(FlowBatchCollected batch) => new(batch.Header, batch.Flows.Count, FlowWire.Encode(batch));

    /// <summary>A body read back (the restart checkpoint), checked whole as a consumer would.</summary>
    public static EncodedFlowBatch Read(byte[] body)
    {
        var batch = FlowWire.DecodeCollected(body);
        return new EncodedFlowBatch(batch.Header, batch.Flows.Count, body);
    }

    public FlowBatchCollected Decode() => FlowWire.DecodeCollected(BodyBytes);
}
