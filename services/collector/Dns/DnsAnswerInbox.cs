using System.Collections.Concurrent;
using Egressd.Collector.Flows;
using Egressd.Contracts;

namespace Egressd.Collector.Dns;

/// <summary>
/// The hand-off from the capture thread to the read cycle: <see cref="PendingFlows"/> belongs to
/// the thread that reads flows, so answers wait here and are moved in at each read. Bounded, so a
/// read cycle that stalls (the node's pods not yet known) cannot make it grow without end; an
/// answer that finds it full is dropped and counted.
/// </summary>
internal sealed class DnsAnswerInbox(int capacity)
{
    private readonly ConcurrentQueue<DnsAnswer> answers = new();
    private int count;

    public int Count => Volatile.Read(ref count);

    /// <summary>Called by the capture thread; false when the inbox is full.</summary>
    public bool Post(DnsAnswer answer)
    {
        if (Interlocked.Increment(ref count) > capacity)
        {
            Interlocked.Decrement(ref count);
            return false;
        }

        answers.Enqueue(answer);
        return true;
    }

    /// <summary>Called by the read cycle: moves every waiting answer into <paramref name="pending"/>.</summary>
    public int DrainInto(PendingFlows pending)
    {
        var moved = 0;
        while (answers.TryDequeue(out var answer))
        {
            Interlocked.Decrement(ref count);
            pending.AddDnsAnswer(answer.Ip, answer.Name, answer.ExpiresAt);
            moved++;
        }

        return moved;
    }
}
