namespace Egressd.Exporter.Sinks.FlowLog;

/// <summary>
/// The ids of the most recent batches the flow log holds, oldest forgotten first. Redeliveries
/// come soon after the first copy (the unacknowledged messages of a crashed process), so the last
/// <c>capacity</c> ids are all a restart needs, whatever the size of the files.
/// </summary>
internal sealed class WrittenBatches(int capacity)
{
    private readonly HashSet<string> ids = new(StringComparer.Ordinal);
    private readonly Queue<string> order = new();

    public int Count => ids.Count;

    public bool Contains(string id) => ids.Contains(id);

    public void Add(string id)
    {
        if (!ids.Add(id))
        {
            return;
        }

        order.Enqueue(id);
        while (order.Count > capacity)
        {
            ids.Remove(order.Dequeue());
        }
    }
}
