using Egressd.Contracts;

namespace Egressd.Enricher.Enrichment;

/// <summary>
/// Enrichment from what the batch itself carries: the flows unchanged, and the destination's DNS
/// name from the answers the collector saw. Kubernetes context (pods, nodes, zones, services,
/// traffic classes) needs the cluster caches; without them both ends stay unknown.
/// </summary>
public sealed class DnsOnlyEnricher : IFlowEnricher
{
    private static readonly FlowEndpoint Unknown = new();

    public FlowBatchEnriched Enrich(FlowBatchCollected batch)
    {
        Dictionary<string, DnsAnswer>? names = null;
        foreach (var answer in batch.DnsAnswers)
        {
            names ??= new Dictionary<string, DnsAnswer>(StringComparer.Ordinal);
            // Several names can point at one address: the answer that lives longest is the freshest.
            if (!names.TryGetValue(answer.Ip, out var seen) || answer.ExpiresAt > seen.ExpiresAt)
            {
                names[answer.Ip] = answer;
            }
        }

        var flows = new EnrichedFlow[batch.Flows.Count];
        for (var i = 0; i < flows.Length; i++)
        {
            var flow = batch.Flows[i];
            flows[i] = new EnrichedFlow
            {
                Flow = flow,
                Source = Unknown,
                Destination = Unknown,
                DestinationDnsName = names is not null && names.TryGetValue(flow.DestinationIp, out var answer) ? answer.Name : null,
                TrafficClass = TrafficClass.Unknown,
            };
        }

        return new FlowBatchEnriched
        {
            Id = batch.Id,
            Node = batch.Node,
            WindowStart = batch.WindowStart,
            WindowEnd = batch.WindowEnd,
            Source = batch.Source,
            Flows = flows,
        };
    }
}
