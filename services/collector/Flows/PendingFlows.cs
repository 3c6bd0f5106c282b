using System.Runtime.InteropServices;
using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>
/// The one place the collector sums traffic: deltas read but not yet part of a window, per flow
/// key. Deltas per key are additive, so however long the broker is away this holds one entry per
/// distinct key, never one per read. Wire records are built only when a window is frozen.
/// </summary>
public sealed class PendingFlows
{
    private readonly Dictionary<FlowKey, FlowCounters> flows = [];
    private readonly Dictionary<(IpAddr Ip, string Name), DateTimeOffset> dns = [];

    public int KeyCount => flows.Count;

    public bool IsEmpty => flows.Count == 0 && dns.Count == 0;

    /// <summary>Adds traffic of one key; nothing is kept for a delta of zero.</summary>
    public void Add(in FlowKey key, FlowCounters delta)
    {
        if (delta.IsZero)
        {
            return;
        }

        ref var sum = ref CollectionsMarshal.GetValueRefOrAddDefault(flows, key, out _);
        sum = sum.Add(delta);
    }

    /// <summary>A DNS answer seen; the later expiry wins when the same answer comes again.</summary>
    public void AddDnsAnswer(IpAddr ip, string name, DateTimeOffset expiresAt)
    {
        ref var expires = ref CollectionsMarshal.GetValueRefOrAddDefault(dns, (ip, name), out var known);
        if (!known || expiresAt > expires)
        {
            expires = expiresAt;
        }
    }

    /// <summary>The counters summed so far, per key.</summary>
    public IReadOnlyDictionary<FlowKey, FlowCounters> Flows => flows;

    /// <summary>
    /// Closes the pending deltas into one window, [<paramref name="start"/>, <paramref name="end"/>],
    /// cut into parts of at most <paramref name="maxFlowsPerPart"/> flows, and starts over empty.
    /// </summary>
    public IReadOnlyList<FlowBatchCollected> Freeze(
        string node, string bootId, long window, FlowSource source, DateTimeOffset start, DateTimeOffset end, int maxFlowsPerPart)
    {
        var records = new List<FlowRecord>(flows.Count);
        foreach (var (key, c) in flows)
        {
            records.Add(new FlowRecord
            {
                SourceIp = key.Source,
                DestinationIp = key.Destination,
                OriginalDestinationIp = key.OriginalDestination.IsNone ? null : key.OriginalDestination,
                Protocol = key.Protocol,
                TxBytes = c.TxBytes,
                RxBytes = c.RxBytes,
                TxPackets = c.TxPackets,
                RxPackets = c.RxPackets,
            });
        }

        var answers = dns.Where(d => d.Value > end)
            .Select(d => new DnsAnswer { Ip = d.Key.Ip, Name = d.Key.Name, ExpiresAt = d.Value })
            .ToList();

        var partCount = Math.Max(1, (records.Count + maxFlowsPerPart - 1) / maxFlowsPerPart);
        var parts = new List<FlowBatchCollected>(partCount);
        for (var part = 0; part < partCount; part++)
        {
            parts.Add(new FlowBatchCollected
            {
                Id = new BatchId { Node = node, BootId = bootId, Window = window, Part = part, PartCount = partCount },
                Node = node,
                WindowStart = start,
                WindowEnd = end,
                Source = source,
                Flows = records.GetRange(part * maxFlowsPerPart, Math.Min(maxFlowsPerPart, records.Count - (part * maxFlowsPerPart))),
                // Answers are per window, not per flow: the first part carries them.
                DnsAnswers = part == 0 ? answers : [],
            });
        }

        flows.Clear();
        dns.Clear();
        return parts;
    }
}
