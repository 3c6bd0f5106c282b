using Egressd.Contracts;

namespace Egressd.Collector.Flows;

/// <summary>
/// Deltas read but not yet part of a window. Deltas per key are additive, so however long the
/// broker is away this holds one entry per distinct key, never one per read.
/// </summary>
internal sealed class PendingFlows
{
    private readonly Dictionary<FlowKey, FlowCounters> flows = [];
    private readonly Dictionary<(string Ip, string Name), DateTimeOffset> dns = [];
    private DateTimeOffset? since;

    public int KeyCount => flows.Count;

    public bool IsEmpty => flows.Count == 0 && dns.Count == 0;

    public void Fold(FlowReading reading, DateTimeOffset readAt)
    {
        foreach (var flow in reading.Deltas)
        {
            var delta = FlowCounters.Of(flow);
            if (delta.IsZero)
            {
                continue;
            }

            var key = FlowKey.Of(flow);
            flows[key] = flows.TryGetValue(key, out var sum) ? sum.Add(delta) : delta;
        }

        foreach (var answer in reading.DnsAnswers)
        {
            var key = (answer.Ip, answer.Name);
            if (!dns.TryGetValue(key, out var expires) || answer.ExpiresAt > expires)
            {
                dns[key] = answer.ExpiresAt;
            }
        }

        since ??= readAt;
    }

    /// <summary>
    /// Closes the pending deltas into a window cut into parts of at most
    /// <paramref name="maxFlowsPerPart"/> flows, and starts over empty.
    /// </summary>
    public IReadOnlyList<FlowBatchCollected> Freeze(string node, string bootId, long window, FlowSource source, DateTimeOffset now, int maxFlowsPerPart)
    {
        var records = new List<FlowRecord>(flows.Count);
        foreach (var (key, c) in flows)
        {
            records.Add(new FlowRecord
            {
                SourceIp = key.SourceIp,
                DestinationIp = key.DestinationIp,
                OriginalDestinationIp = key.OriginalDestinationIp,
                Protocol = key.Protocol,
                TxBytes = c.TxBytes,
                RxBytes = c.RxBytes,
                TxPackets = c.TxPackets,
                RxPackets = c.RxPackets,
            });
        }

        var answers = dns.Where(d => d.Value > now)
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
                WindowStart = since ?? now,
                WindowEnd = now,
                Source = source,
                Flows = records.GetRange(part * maxFlowsPerPart, Math.Min(maxFlowsPerPart, records.Count - (part * maxFlowsPerPart))),
                // Answers are per window, not per flow: the first part carries them.
                DnsAnswers = part == 0 ? answers : [],
            });
        }

        flows.Clear();
        dns.Clear();
        since = null;
        return parts;
    }
}
