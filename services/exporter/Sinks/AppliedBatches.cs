namespace Egressd.Exporter.Sinks;

/// <summary>
/// The batch ids a sink has applied, the most recent <c>capacity</c> of them, in their text form
/// (as the flow log writes them). A redelivered batch (at-least-once delivery) is found here and
/// dropped. A batch being applied is reserved, so two copies consumed at once are not both applied.
/// Redeliveries come soon after the first copy (the unacknowledged messages of a crashed process),
/// so the last <c>capacity</c> ids are all a sink needs.
/// </summary>
public sealed class AppliedBatches(int capacity)
{
    private readonly Lock gate = new();
    private readonly HashSet<string> seen = new(StringComparer.Ordinal);
    private readonly Queue<string> order = new();
    private readonly HashSet<string> inFlight = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (gate)
            {
                return seen.Count;
            }
        }
    }

    /// <summary>True when the caller should apply the batch; false for a duplicate.</summary>
    public bool TryReserve(string id)
    {
        lock (gate)
        {
            return !seen.Contains(id) && inFlight.Add(id);
        }
    }

    /// <summary>The batch is applied: a later copy is a duplicate.</summary>
    public void Complete(string id)
    {
        lock (gate)
        {
            inFlight.Remove(id);
            Remember(id);
        }
    }

    /// <summary>The batch failed: a redelivery may apply it.</summary>
    public void Release(string id)
    {
        lock (gate)
        {
            inFlight.Remove(id);
        }
    }

    /// <summary>Whether the batch is among the applied ones (a sink that learns them from its own output asks).</summary>
    public bool Contains(string id)
    {
        lock (gate)
        {
            return seen.Contains(id);
        }
    }

    /// <summary>A batch applied before this process started, read back from the sink's own output.</summary>
    public void Add(string id)
    {
        lock (gate)
        {
            Remember(id);
        }
    }

    private void Remember(string id)
    {
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
