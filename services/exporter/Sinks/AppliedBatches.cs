using Egressd.Contracts;

namespace Egressd.Exporter.Sinks;

/// <summary>
/// The batch ids a sink has applied, the most recent <c>capacity</c> of them. A redelivered batch
/// (at-least-once delivery) is found here and dropped. A batch being applied is reserved, so two
/// copies consumed at once are not both applied.
/// </summary>
public sealed class AppliedBatches<TSink>(int capacity)
    where TSink : IFlowSink
{
    private readonly Lock gate = new();
    private readonly HashSet<BatchId> seen = [];
    private readonly Queue<BatchId> order = new();
    private readonly HashSet<BatchId> inFlight = [];

    /// <summary>True when the caller should apply the batch; false for a duplicate.</summary>
    public bool TryReserve(BatchId id)
    {
        lock (gate)
        {
            return !seen.Contains(id) && inFlight.Add(id);
        }
    }

    public void Complete(BatchId id)
    {
        lock (gate)
        {
            inFlight.Remove(id);
            if (!seen.Add(id))
            {
                return;
            }

            order.Enqueue(id);
            while (order.Count > capacity)
            {
                seen.Remove(order.Dequeue());
            }
        }
    }

    /// <summary>The batch failed: a redelivery may apply it.</summary>
    public void Release(BatchId id)
    {
        lock (gate)
        {
            inFlight.Remove(id);
        }
    }
}
