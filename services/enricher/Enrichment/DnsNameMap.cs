using Egressd.Contracts;

namespace Egressd.Enricher.Enrichment;

/// <summary>
/// Address → DNS name, fed by the answers in every collected batch from every node, so a name one
/// node's collector saw names the same address in any node's flows (a batch's own answers alone
/// would name only what its node resolved in that window). An answer counts while it is live at
/// the start of the flow's window; the least recently used address goes first once
/// <c>MaxEntries</c> are held. Shared by the enricher's concurrent consumers: one lock, held
/// for a dictionary operation at a time.
/// </summary>
internal sealed class DnsNameMap
{
    private readonly Dictionary<IpAddr, LinkedListNode<DnsAnswer>> index = [];

    // Most recently used first.
    private readonly LinkedList<DnsAnswer> order = new();
    private readonly int maxEntries;
    private readonly Lock gate = new();

    private readonly EnricherMetrics metrics;

    public DnsNameMap(int maxEntries, EnricherMetrics metrics)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 1);
        this.maxEntries = maxEntries;
        this.metrics = metrics;
    }

    public int Count
    {
        get
        {
            lock (gate)
            {
                return index.Count;
            }
        }
    }

    /// <summary>Takes in a batch's answers; for an address answered twice, the answer that lives longer wins.</summary>
    public void Record(IReadOnlyList<DnsAnswer>? answers)
    {
        if (answers is null || answers.Count == 0)
        {
            return;
        }

        long evicted = 0;
        lock (gate)
        {
            foreach (var answer in answers)
            {
                if (answer is null || string.IsNullOrEmpty(answer.Name))
                {
                    continue;
                }

                if (index.TryGetValue(answer.Ip, out var node))
                {
                    if (answer.ExpiresAt >= node.Value.ExpiresAt)
                    {
                        node.Value = answer;
                    }

                    order.Remove(node);
                    order.AddFirst(node);
                    continue;
                }

                if (index.Count >= maxEntries)
                {
                    var last = order.Last!;
                    order.RemoveLast();
                    index.Remove(last.Value.Ip);
                    evicted++;
                }

                index.Add(answer.Ip, order.AddFirst(answer));
            }

            metrics.DnsNames.Set(index.Count);
        }

        if (evicted > 0)
        {
            metrics.DnsNamesEvicted.Inc(evicted);
        }
    }

    /// <summary>The name <paramref name="ip"/> had at some point after <paramref name="liveAt"/>, or null.</summary>
    public string? NameOf(IpAddr ip, DateTimeOffset liveAt)
    {
        lock (gate)
        {
            if (!index.TryGetValue(ip, out var node))
            {
                return null;
            }

            if (node.Value.ExpiresAt <= liveAt)
            {
                // Expired for this window; a later answer may bring it back, an older window may
                // not arrive: leave it to the bound rather than remove it under a batch's clock.
                return null;
            }

            if (order.First != node)
            {
                order.Remove(node);
                order.AddFirst(node);
            }

            return node.Value.Name;
        }
    }
}
