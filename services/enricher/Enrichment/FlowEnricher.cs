using Egressd.Contracts;
using Egressd.Enricher.Cluster;
using Egressd.Shared.Bus;
using Egressd.Shared.Cost;

namespace Egressd.Enricher.Enrichment;

/// <summary>
/// A pure function from a collected batch and a cluster snapshot to the enriched batch: no I/O, no
/// clock, so it is tested without a cluster and benchmarked alone. A flow whose source is unknown
/// is kept (egressd drops it, and its bytes vanish); a batch that cannot have come from a
/// collector (a protocol number outside 0-255, too many flows) is
/// refused whole with <see cref="InvalidBatchException"/>. DNS names come from
/// <see cref="DnsNameMap"/>, which every batch's answers feed first: the one piece of state here,
/// read against the batch's own window rather than a clock.
/// </summary>
internal sealed class FlowEnricher(TrafficClassifier classifier, int maxFlowsPerBatch, DnsNameMap names, PriceModel? prices = null)
{
    /// <summary>The workload kind of a node's own flows when the collector named the systemd unit behind them.</summary>
    public const string SystemdUnitKind = "SystemdUnit";

    /// <summary>Takes in a batch's DNS answers without enriching it (a window with answers only).</summary>
    public void RecordAnswers(FlowBatchCollected batch) => names.Record(batch.DnsAnswers);

    public FlowBatchEnriched Enrich(FlowBatchCollected batch, ClusterSnapshot cluster, EnrichmentStats stats)
    {
        if (batch.Flows.Count > maxFlowsPerBatch)
        {
            throw new InvalidBatchException($"batch {batch.Header.Id} has {batch.Flows.Count} flows, more than Egressd:Enricher:MaxFlowsPerBatch ({maxFlowsPerBatch})", FaultReasons.TooManyFlows);
        }

        names.Record(batch.DnsAnswers);
        var endpoints = new EndpointTableBuilder();
        var flows = new EnrichedFlow[batch.Flows.Count];
        for (var i = 0; i < flows.Length; i++)
        {
            flows[i] = Enrich(batch, i, cluster, endpoints, stats);
        }

        return new FlowBatchEnriched { Header = batch.Header, Endpoints = endpoints.ToArray(), Flows = flows };
    }

    private EnrichedFlow Enrich(FlowBatchCollected batch, int index, ClusterSnapshot cluster, EndpointTableBuilder endpoints, EnrichmentStats stats)
    {
        var flow = batch.Flows[index];
        if (flow.Protocol is < 0 or > 255)
        {
            throw new InvalidBatchException($"batch {batch.Header.Id} flow {index}: protocol {flow.Protocol} is not an IP protocol number");
        }

        FlowEndpoint source;
        if (flow.SourcePod is { } hostPodName && cluster.HostNetworkPods.TryGetValue(hostPodName, out var hostPod))
        {
            // A node address the collector found a hostNetwork pod's socket behind.
            source = hostPod;
            stats.SourceHostNetworkPod++;
        }
        else if (cluster.Pods.TryGetValue(flow.SourceIp, out var pod))
        {
            source = pod;
        }
        else if (cluster.Nodes.TryGetValue(flow.SourceIp, out var node))
        {
            // The node itself; a systemd unit the collector named is its workload.
            source = flow.SourceUnit is { } unit ? node with { WorkloadKind = SystemdUnitKind, WorkloadName = unit } : node;
            stats.SourceHostNetwork++;
        }
        else
        {
            source = FlowEndpoint.Unknown;
            stats.SourceUnknown++;
        }

        string? service = null;
        if (flow.OriginalDestinationIp is { } original)
        {
            cluster.Services.TryGetValue(original, out service);
        }

        TrafficClass trafficClass;
        FlowEndpoint destination;
        string? dnsName = null;
        if (cluster.Pods.TryGetValue(flow.DestinationIp, out var destinationPod) || cluster.Nodes.TryGetValue(flow.DestinationIp, out destinationPod))
        {
            destination = destinationPod;
            trafficClass = TrafficClassifier.InCluster(source, destination);
        }
        else
        {
            destination = FlowEndpoint.Unknown;
            trafficClass = classifier.External(flow.DestinationIp);
            dnsName = names.NameOf(flow.DestinationIp, batch.Header.WindowStart);
        }

        if (classifier.HasRules && classifier.Rule(flow.DestinationIp) is { } ruled)
        {
            trafficClass = ruled;
        }

        stats.Classes[(int)trafficClass]++;
        return new EnrichedFlow
        {
            Flow = flow,
            SourceEndpoint = endpoints.IndexOf(source),
            DestinationEndpoint = endpoints.IndexOf(destination),
            DestinationService = service,
            DestinationDnsName = dnsName,
            TrafficClass = trafficClass,
            Cost = prices is { Enabled: true } ? Price(prices, batch, flow, source, destination, trafficClass, cluster) : default,
        };
    }

    /// <summary>
    /// The source is the flow's local pod, on the batch's node (a pod not yet seen is still there):
    /// it pays what it sent and what it received. Combined counters (Cilium 1.16+) do not say which
    /// way the bytes went: their total is priced as sent, which overstates internet traffic's cost
    /// by what came in (docs/COST.md).
    /// </summary>
    private static FlowCharges Price(PriceModel prices, FlowBatchCollected batch, in FlowRecord flow, FlowEndpoint source, FlowEndpoint destination, TrafficClass trafficClass, ClusterSnapshot cluster)
    {
        var endpoints = new CostEndpoints
        {
            Local = cluster.PlacementOf(source.Node ?? batch.Header.Node),
            RemoteZone = destination.Zone,
            RemoteRegion = destination.Region,
            RemoteAddress = flow.DestinationIp,
        };
        var (sent, received) = batch.Header.CounterDirections == FlowCounterDirections.Combined
            ? ((long)(flow.TxBytes + flow.RxBytes), 0L)
            : ((long)flow.TxBytes, (long)flow.RxBytes);
        return prices.PriceFlow(sent, received, trafficClass, endpoints).ToCharges();
    }
}
